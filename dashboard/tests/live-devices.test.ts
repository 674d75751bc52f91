// Device events that arrive while a list is being read are not undone by its answer.
import { describe, expect, it } from "vitest";
import { ApiClient } from "../src/api";
import { DashboardController } from "../src/controller";
import type { LiveOptions } from "../src/socket";
import { LiveDevices } from "../src/state/liveDevices";
import { initialState, reduce } from "../src/state/store";
import type { Hub, Robot } from "../src/types";
import { json, makeLogin, makeResident, MemoryStorage } from "./fixtures";
import { waiting } from "./wait";

const waitFor = waiting();

const HUB: Hub = { id: 3, home_id: 1, online: false, last_seen_at: "2026-11-24T03:00:00Z" };
const ROBOT: Robot = {
  id: 5,
  home_id: 1,
  serial: "robot-1",
  model: "SafeBot",
  capabilities: ["move"],
  state: "docked",
  battery_pct: 90,
  position: "Dock",
  last_seen_at: null,
};
const ONLINE = {
  hub_id: 3,
  home_id: 1,
  resident_id: 1,
  online: true,
  last_seen_at: "2026-11-24T03:05:00Z",
};

describe("live device ledger", () => {
  it("lays what arrived after the mark over an answer, and nothing from before it", () => {
    const devices = new LiveDevices();
    devices.hubPresence({ ...ONLINE, online: false });
    const since = devices.mark();
    // Arrived before the request: the answer, read later, already holds it.
    expect(devices.hubs([HUB], since)).toEqual([HUB]);
    devices.hubPresence(ONLINE);
    expect(devices.hubs([HUB], since)).toEqual([
      { ...HUB, online: true, last_seen_at: "2026-11-24T03:05:00Z" },
    ]);
    // Another hub's news leaves this one alone.
    expect(devices.hubs([{ ...HUB, id: 4 }], since)).toEqual([{ ...HUB, id: 4 }]);
  });

  it("merges a robot's partial statuses; forgets everything at sign-out", () => {
    const devices = new LiveDevices();
    const since = devices.mark();
    devices.robotStatus({ robot_id: 5, state: "moving", position: "Hall", battery_pct: 80 });
    devices.robotStatus({ robot_id: 5, state: null, position: "Bedroom", battery_pct: null });
    expect(devices.robots([ROBOT], since)[0]).toMatchObject({
      state: "moving",
      position: "Bedroom",
      battery_pct: 80,
    });
    devices.clear();
    expect(devices.robots([ROBOT], since)).toEqual([ROBOT]);
  });
});

describe("the overview's devices", () => {
  it("keep a hub's presence that arrived while its list was on the way", async () => {
    let live: LiveOptions | null = null;
    let answerHubs: (() => void) | null = null;
    let hubsAsked = 0;
    const fetchImpl = (async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url === "/api/v1/auth/login") return json(200, makeLogin());
      if (url === "/api/v1/residents") return json(200, [makeResident({ id: 1, home_id: 1 })]);
      if (url.startsWith("/api/v1/alerts?")) return json(200, []);
      if (url === "/api/v1/homes/1/hubs") {
        hubsAsked += 1;
        // The database was read before the hub came back: the answer says offline.
        await new Promise<void>((resolve) => (answerHubs = resolve));
        return json(200, [HUB]);
      }
      if (url === "/api/v1/homes/1/robots") return json(200, [ROBOT]);
      return json(404, { error: { code: "not_found", message: "Not found." } });
    }) as typeof fetch;
    const controller: DashboardController = new DashboardController({
      storage: new MemoryStorage(),
      api: new ApiClient({ fetch: fetchImpl, getToken: () => controller.store.get().session?.token ?? null }),
      connect: (options) => {
        live = options;
        return { socket: null as never, close: () => undefined };
      },
    });
    expect(await controller.signIn("a@b.c", "pw")).toBeNull();
    await waitFor(() => answerHubs !== null, "the hubs to be asked for");
    live!.onHubPresence!(ONLINE);
    live!.onRobotStatus!({ robot_id: 5, state: "moving", position: "Hall", battery_pct: null });
    answerHubs!();
    await waitFor(() => controller.store.get().extras[1]?.hubs !== undefined, "the overview's hubs");
    const extras = controller.store.get().extras[1]!;
    expect(hubsAsked).toBe(1);
    expect(extras.hubs).toEqual([{ ...HUB, online: true, last_seen_at: "2026-11-24T03:05:00Z" }]);
    expect(extras.robots![0]).toMatchObject({ state: "moving", position: "Hall", battery_pct: 90 });
    controller.signOut();
  });

  it("keep a last-seen room that arrived live over an older heatmap", () => {
    const later = { roomId: 3, room: "Kitchen", date: "2026-11-24", hour: 9 };
    let state = reduce(initialState(), {
      type: "extrasLoaded",
      residentId: 1,
      extras: { lastActivity: later },
    });
    state = reduce(state, {
      type: "extrasLoaded",
      residentId: 1,
      extras: { lastActivity: { roomId: 2, room: "Bedroom", date: "2026-11-24", hour: 7 } },
    });
    expect(state.extras[1]!.lastActivity).toEqual(later);
    state = reduce(state, { type: "extrasLoaded", residentId: 1, extras: { lastActivity: null } });
    expect(state.extras[1]!.lastActivity).toEqual(later);
    const newer = { roomId: 2, room: "Bedroom", date: "2026-11-24", hour: 10 };
    state = reduce(state, { type: "extrasLoaded", residentId: 1, extras: { lastActivity: newer } });
    expect(state.extras[1]!.lastActivity).toEqual(newer);
  });
});
