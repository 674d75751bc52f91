import { describe, expect, it, vi } from "vitest";
import type { Alarm } from "../src/alarm";
import { ApiClient } from "../src/api";
import { DashboardController } from "../src/controller";
import type { LiveOptions } from "../src/socket";
import { json, makeAlert, makeLogin, makeResident, MemoryStorage, USER } from "./fixtures";

describe("an expired access token", () => {
  it("is refreshed once and the call retried; a failed refresh signs out", async () => {
    let token = "old";
    const seen: string[] = [];
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const auth = new Headers(init?.headers).get("Authorization") ?? "";
      seen.push(`${String(input)} ${auth}`);
      return auth === "Bearer new"
        ? json(200, [])
        : json(401, { error: { code: "expired", message: "Expired." } });
    }) as typeof fetch;
    const onUnauthorized = vi.fn();
    let refreshes = 0;
    const client = new ApiClient({
      fetch: fetchImpl,
      getToken: () => token,
      onUnauthorized,
      refresh: async () => {
        refreshes += 1;
        token = "new";
        return true;
      },
    });
    await expect(client.residents()).resolves.toEqual([]);
    expect(refreshes).toBe(1);
    expect(seen).toEqual(["/api/v1/residents Bearer old", "/api/v1/residents Bearer new"]);
    expect(onUnauthorized).not.toHaveBeenCalled();

    token = "old";
    const refusing = new ApiClient({
      fetch: fetchImpl,
      getToken: () => token,
      onUnauthorized,
      refresh: async () => false,
    });
    await expect(refusing.residents()).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("is exchanged by one refresh even when several calls fail at once", async () => {
    const storage = new MemoryStorage();
    let refreshCalls = 0;
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url === "/api/v1/auth/login")
        return json(200, makeLogin({ refresh_token: "r1", refresh_expires_in: 3600 }));
      if (url === "/api/v1/auth/refresh") {
        refreshCalls += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return json(
          200,
          makeLogin({ access_token: "token-2", refresh_token: "r2", refresh_expires_in: 3600 }),
        );
      }
      const auth = new Headers(init?.headers).get("Authorization");
      if (auth !== "Bearer token-2") return json(401, { error: { code: "expired", message: "Expired." } });
      if (url === "/api/v1/residents") return json(200, [makeResident()]);
      return json(url.startsWith("/api/v1/alerts?") ? 200 : 404, url.startsWith("/api/v1/alerts?") ? [] : {});
    }) as typeof fetch;
    const controller: DashboardController = new DashboardController({
      storage,
      api: new ApiClient({
        fetch: fetchImpl,
        getToken: () => controller.store.get().session?.token ?? null,
        onUnauthorized: () => controller.signOut("ended"),
        refresh: () => controller.refreshTokens(),
      }),
      connect: () => ({ socket: null as never, close: () => undefined }),
    });
    expect(await controller.signIn("a@b.c", "pw")).toBeNull();
    for (let i = 0; i < 100 && controller.store.get().loading; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(refreshCalls).toBe(1);
    expect(controller.store.get().session?.token).toBe("token-2");
    expect(controller.store.get().session?.refreshToken).toBe("r2");
    expect(controller.store.get().residents).toHaveLength(1);
    controller.signOut();
  });
});

describe("a new critical alert", () => {
  function setup(muted: boolean, role: "staff" | "guardian" = "staff") {
    const alarm: Alarm = { rings: 0, start: vi.fn(), stop: vi.fn(), notify: vi.fn() };
    const prefs = new MemoryStorage();
    prefs.setItem("sst.prefs", JSON.stringify({ locale: "en", largeType: false, muted }));
    let live: LiveOptions | null = null;
    const fetchImpl = (async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url === "/api/v1/auth/login") return json(200, makeLogin({ user: { ...USER, role } }));
      if (url === "/api/v1/residents") return json(200, [makeResident({ id: 1, full_name: "Ada Byrne" })]);
      return json(url.startsWith("/api/v1/alerts?") ? 200 : 404, url.startsWith("/api/v1/alerts?") ? [] : {});
    }) as typeof fetch;
    const controller: DashboardController = new DashboardController({
      storage: new MemoryStorage(),
      prefsStorage: prefs,
      alarm,
      api: new ApiClient({ fetch: fetchImpl, getToken: () => controller.store.get().session?.token ?? null }),
      connect: (options) => {
        live = options;
        return { socket: null as never, close: () => undefined };
      },
    });
    return { alarm, controller, live: () => live! };
  }

  it("sounds the alarm and notifies; acknowledging it elsewhere stops the sound", async () => {
    const { alarm, controller, live } = setup(false);
    await controller.signIn("a@b.c", "pw");
    for (let i = 0; i < 100 && controller.store.get().loading; i++)
      await new Promise((r) => setTimeout(r, 10));
    const fall = makeAlert({ id: 5, resident_id: 1, severity: "critical", title: "Fall", room: "Bathroom" });
    live().onAlert(fall);
    expect(alarm.start).toHaveBeenCalledTimes(1);
    expect(alarm.notify).toHaveBeenCalledWith(
      "SST care dashboard",
      "Critical alert for Ada Byrne in Bathroom: Fall.",
      "sst-alert-5",
    );
    live().onAlert({ ...fall, count: 2 });
    expect(alarm.start).toHaveBeenCalledTimes(1);
    live().onAlert({ ...fall, state: "acknowledged" });
    expect(alarm.stop).toHaveBeenCalled();
    controller.signOut();
  });

  it("never rings on a guardian's phone", async () => {
    const { alarm, controller, live } = setup(false, "guardian");
    await controller.signIn("a@b.c", "pw");
    live().onAlert(makeAlert({ id: 7, severity: "critical" }));
    expect(alarm.start).not.toHaveBeenCalled();
    expect(alarm.notify).not.toHaveBeenCalled();
    controller.signOut();
  });

  it("stays silent when muted, but still notifies", async () => {
    const { alarm, controller, live } = setup(true);
    await controller.signIn("a@b.c", "pw");
    live().onAlert(makeAlert({ id: 6, severity: "critical" }));
    expect(alarm.start).not.toHaveBeenCalled();
    expect(alarm.notify).toHaveBeenCalledTimes(1);
    controller.setPrefs({ muted: false });
    controller.setPrefs({ muted: true });
    expect(alarm.stop).toHaveBeenCalled();
    controller.signOut();
  });
});
