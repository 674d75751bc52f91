// @vitest-environment happy-dom
// The overview card's risk: the score and arrow, words for screen readers, or "not available".
import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { initialState, reduce } from "../src/state/store";
import { ResidentList } from "../src/views/ResidentList";
import { makeResident } from "./fixtures";

afterEach(() => render(null, document.body));

describe("ResidentList risk", () => {
  it("shows the score with its trend, and 'not available' without one", () => {
    const scored = makeResident({ id: 1 });
    const unscored = makeResident({ id: 2, full_name: "Kim Young-ja" });
    let state = initialState();
    state = reduce(state, {
      type: "extrasLoaded",
      residentId: 1,
      extras: {
        risk: {
          resident_id: 1,
          score: 81,
          at: "2026-11-23T05:00:00Z",
          explanation: "no movement anywhere since 09:10",
          trend: "up",
          series: [],
        },
      },
    });
    render(<ResidentList residents={[scored, unscored]} loading={false} state={state} />, document.body);
    const cells = [...document.querySelectorAll("[data-testid=risk]")];
    const byId = (id: number) =>
      cells.find(
        (cell) => cell.closest("[data-resident-id]")?.getAttribute("data-resident-id") === String(id),
      );
    const shown = byId(1);
    expect(shown?.querySelector("[aria-hidden=true]")?.textContent).toBe("81/100 ↑");
    expect(shown?.querySelector(".visually-hidden")?.textContent).toBe("risk 81 of 100, rising");
    expect(byId(2)?.textContent?.trim()).toBe("not available");
  });
});
