import { describe, expect, it } from "vitest";
import { compareAlerts, isUrgent, sortAlerts, upsertAlert } from "../src/state/alerts";
import { makeAlert } from "./fixtures";

describe("sortAlerts", () => {
  it("puts open critical first, then by severity, then acknowledged ones", () => {
    const lowOpen = makeAlert({ id: 1, severity: "low" });
    const criticalAck = makeAlert({ id: 2, severity: "critical", state: "acknowledged" });
    const highOpen = makeAlert({ id: 3, severity: "high" });
    const criticalOpen = makeAlert({ id: 4, severity: "critical" });
    const mediumOpen = makeAlert({ id: 5, severity: "medium" });
    const sorted = sortAlerts([lowOpen, criticalAck, highOpen, criticalOpen, mediumOpen]);
    expect(sorted.map((a) => a.id)).toEqual([4, 3, 5, 1, 2]);
  });

  it("puts the most recently seen first within the same state and severity", () => {
    const older = makeAlert({ id: 10, severity: "high", last_seen_at: "2026-03-03T08:00:00Z" });
    const newer = makeAlert({ id: 11, severity: "high", last_seen_at: "2026-03-03T09:30:00Z" });
    expect(sortAlerts([older, newer]).map((a) => a.id)).toEqual([11, 10]);
  });

  it("breaks full ties by id so the order never flickers", () => {
    const a = makeAlert({ id: 20 });
    const b = makeAlert({ id: 21 });
    expect(compareAlerts(a, b)).toBeGreaterThan(0);
    expect(sortAlerts([a, b])).toEqual(sortAlerts([b, a]));
  });

  it("does not mutate its input", () => {
    const input = [makeAlert({ id: 30, severity: "low" }), makeAlert({ id: 31, severity: "critical" })];
    const copy = [...input];
    sortAlerts(input);
    expect(input).toEqual(copy);
  });
});

describe("upsertAlert", () => {
  it("adds a new critical alert at the top", () => {
    const list = sortAlerts([makeAlert({ id: 1, severity: "high" }), makeAlert({ id: 2, severity: "low" })]);
    const critical = makeAlert({ id: 3, severity: "critical" });
    expect(upsertAlert(list, critical).map((a) => a.id)).toEqual([3, 1, 2]);
  });

  it("replaces an alert by id instead of duplicating it", () => {
    const first = makeAlert({ id: 1, count: 1 });
    const repeat = { ...first, count: 5 };
    const merged = upsertAlert([first], repeat);
    expect(merged).toHaveLength(1);
    expect(merged[0]?.count).toBe(5);
  });

  it("moves an acknowledged alert below the open ones", () => {
    const list = sortAlerts([
      makeAlert({ id: 1, severity: "critical" }),
      makeAlert({ id: 2, severity: "low" }),
    ]);
    const acked = { ...list[0]!, state: "acknowledged" as const };
    expect(upsertAlert(list, acked).map((a) => a.id)).toEqual([2, 1]);
  });

  it("drops a resolved alert from the active list", () => {
    const alert = makeAlert({ id: 1 });
    expect(upsertAlert([alert], { ...alert, state: "resolved" })).toEqual([]);
  });

  it("keeps a resolved alert when resolved ones are shown", () => {
    const alert = makeAlert({ id: 1, state: "resolved" });
    expect(upsertAlert([], alert, ["resolved"])).toEqual([alert]);
  });
});

describe("isUrgent", () => {
  it("is true only for open critical alerts", () => {
    expect(isUrgent(makeAlert({ severity: "critical" }))).toBe(true);
    expect(isUrgent(makeAlert({ severity: "critical", state: "acknowledged" }))).toBe(false);
    expect(isUrgent(makeAlert({ severity: "high" }))).toBe(false);
  });
});
