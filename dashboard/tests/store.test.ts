import { describe, expect, it } from "vitest";
import { initialState, reduce, Store, type DashboardState } from "../src/state/store";
import { sessionFromLogin } from "../src/session";
import { makeAlert, makeLogin, makeResident } from "./fixtures";

function loaded(): DashboardState {
  const state = reduce(initialState(), { type: "signedIn", session: sessionFromLogin(makeLogin()) });
  return reduce(state, {
    type: "loaded",
    residents: [makeResident({ id: 1, full_name: "Ada Byrne" })],
    alerts: [makeAlert({ id: 1, severity: "high" }), makeAlert({ id: 2, severity: "low" })],
  });
}

describe("reduce", () => {
  it("puts a live critical alert on top, marks it new and announces it assertively", () => {
    const critical = makeAlert({ id: 9, severity: "critical", title: "Possible fall", room: "Bathroom" });
    const state = reduce(loaded(), { type: "alertReceived", alert: critical });
    expect(state.alerts.map((a) => a.id)).toEqual([9, 1, 2]);
    expect(state.freshAlertIds).toEqual([9]);
    expect(state.announcement).toMatchObject({
      assertive: true,
      text: "Critical alert for Ada Byrne in Bathroom: Possible fall.",
    });
  });

  it("announces a new non-critical alert politely and does not mark it", () => {
    const state = reduce(loaded(), {
      type: "alertReceived",
      alert: makeAlert({ id: 9, severity: "medium" }),
    });
    expect(state.freshAlertIds).toEqual([]);
    expect(state.announcement?.assertive).toBe(false);
  });

  it("does not announce a repeat that only raises the count", () => {
    const before = loaded();
    const repeat = { ...before.alerts[0]!, count: 3 };
    const state = reduce(before, { type: "alertReceived", alert: repeat });
    expect(state.announcement).toBeNull();
    expect(state.alerts.find((a) => a.id === repeat.id)?.count).toBe(3);
  });

  it("announces the same words again with a new sequence number", () => {
    const alert = makeAlert({ id: 9, severity: "critical" });
    const once = reduce(loaded(), { type: "alertReceived", alert });
    const resolved = reduce(once, { type: "alertReceived", alert: { ...alert, state: "resolved" } });
    const again = reduce(resolved, { type: "alertReceived", alert: { ...alert, id: 10 } });
    expect(again.announcement?.seq).toBe((once.announcement?.seq ?? 0) + 1);
  });

  it("stops highlighting once the alert is acknowledged, from here or elsewhere", () => {
    const critical = makeAlert({ id: 9, severity: "critical" });
    const live = reduce(loaded(), { type: "alertReceived", alert: critical });
    const acked = { ...critical, state: "acknowledged" as const };
    expect(reduce(live, { type: "alertChanged", alert: acked }).freshAlertIds).toEqual([]);
    expect(reduce(live, { type: "alertReceived", alert: acked }).freshAlertIds).toEqual([]);
  });

  it("keeps the highlight while an urgent alert repeats", () => {
    const critical = makeAlert({ id: 9, severity: "critical" });
    const live = reduce(loaded(), { type: "alertReceived", alert: critical });
    const repeat = reduce(live, { type: "alertReceived", alert: { ...critical, count: 2 } });
    expect(repeat.freshAlertIds).toEqual([9]);
  });

  it("removes a resolved alert", () => {
    const state = loaded();
    const resolved = { ...state.alerts[0]!, state: "resolved" as const };
    expect(reduce(state, { type: "alertChanged", alert: resolved }).alerts.map((a) => a.id)).toEqual([2]);
  });

  it("sorts what the server sends and forgets highlights of alerts no longer urgent", () => {
    const critical = makeAlert({ id: 9, severity: "critical" });
    const live = reduce(loaded(), { type: "alertReceived", alert: critical });
    const reloaded = reduce(live, {
      type: "loaded",
      residents: live.residents,
      alerts: [makeAlert({ id: 2, severity: "low" }), { ...critical, state: "acknowledged" }],
    });
    expect(reloaded.alerts.map((a) => a.id)).toEqual([2, 9]);
    expect(reloaded.freshAlertIds).toEqual([]);
  });

  it("forgets everything on sign-out but keeps the reason", () => {
    const state = reduce(loaded(), { type: "signedOut", notice: "Your session has ended." });
    expect(state.session).toBeNull();
    expect(state.alerts).toEqual([]);
    expect(state.notice).toBe("Your session has ended.");
  });
});

describe("Store", () => {
  it("notifies subscribers until they unsubscribe", () => {
    const store = new Store(initialState());
    const seen: string[] = [];
    const unsubscribe = store.subscribe((state) => seen.push(state.connection));
    store.dispatch({ type: "connection", status: "connected" });
    unsubscribe();
    store.dispatch({ type: "connection", status: "reconnecting" });
    expect(seen).toEqual(["connected"]);
    expect(store.get().connection).toBe("reconnecting");
  });
});
