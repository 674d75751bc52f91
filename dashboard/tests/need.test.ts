import { describe, expect, it } from "vitest";
import { sortByNeed } from "../src/state/need";
import { makeAlert, makeResident } from "./fixtures";

const counts = (critical = 0, high = 0, medium = 0, low = 0) => ({ critical, high, medium, low });

describe("residents sorted by need", () => {
  it("puts open critical alerts first, then more severe counts, then names", () => {
    const residents = [
      makeResident({ id: 1, full_name: "Ada", open_alerts: counts(0, 0, 0, 3) }),
      makeResident({ id: 2, full_name: "Bo", open_alerts: counts(0, 2) }),
      makeResident({ id: 3, full_name: "Cy", open_alerts: counts(1) }),
      makeResident({ id: 4, full_name: "Al", open_alerts: counts() }),
      makeResident({ id: 5, full_name: "Di", open_alerts: counts(0, 1) }),
    ];
    expect(sortByNeed(residents, []).map((r) => r.full_name)).toEqual(["Cy", "Bo", "Di", "Ada", "Al"]);
  });

  it("ranks an unacknowledged critical alert above an acknowledged one", () => {
    const residents = [
      makeResident({ id: 1, full_name: "Acked", open_alerts: counts(1) }),
      makeResident({ id: 2, full_name: "Waiting", open_alerts: counts(1) }),
    ];
    const alerts = [
      makeAlert({ resident_id: 1, severity: "critical", state: "acknowledged" }),
      makeAlert({ resident_id: 2, severity: "critical", state: "open" }),
    ];
    expect(sortByNeed(residents, alerts).map((r) => r.full_name)).toEqual(["Waiting", "Acked"]);
  });

  it("leaves its input alone", () => {
    const residents = [makeResident({ id: 2, full_name: "B" }), makeResident({ id: 1, full_name: "A" })];
    sortByNeed(residents, []);
    expect(residents.map((r) => r.id)).toEqual([2, 1]);
  });
});
