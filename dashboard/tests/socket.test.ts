// Runs the client against a real Socket.IO server that checks the token like the backend does.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import type { RuleCheckPayload } from "../src/events";
import { connectLive, type ConnectionStatus, type LiveConnection } from "../src/socket";
import type { Alert } from "../src/types";
import { makeAlert } from "./fixtures";
import { waiting } from "./wait";

const GOOD_TOKEN = "good-token";

interface Backend {
  io: Server;
  http: HttpServer;
  url: string;
}

async function startBackend(port = 0): Promise<Backend> {
  const http = createServer();
  const io = new Server(http, { path: "/socket.io/" });
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: string }).token;
    next(token === GOOD_TOKEN ? undefined : new Error("unauthorized"));
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  const address = http.address() as AddressInfo;
  return { io, http, url: `http://127.0.0.1:${address.port}` };
}

async function stopBackend(backend: Backend): Promise<void> {
  await new Promise<void>((resolve) => backend.io.close(() => resolve()));
}

const waitFor = waiting({ timeoutMs: 5000 }); // a real server, real reconnections

const open: LiveConnection[] = [];
const backends: Backend[] = [];

afterEach(async () => {
  for (const live of open.splice(0)) live.close();
  for (const backend of backends.splice(0)) await stopBackend(backend);
});

function connect(url: string, token: string) {
  const statuses: ConnectionStatus[] = [];
  const alerts: Alert[] = [];
  const checks: RuleCheckPayload[] = [];
  let resyncs = 0;
  const live = connectLive({
    url,
    getToken: () => token,
    onAlert: (alert) => alerts.push(alert),
    onStatus: (status) => statuses.push(status),
    onResync: () => resyncs++,
    onRuleCheck: (check) => checks.push(check),
    socketOptions: { reconnectionDelay: 50, reconnectionDelayMax: 100, transports: ["websocket"] },
  });
  open.push(live);
  return { live, statuses, alerts, checks, resyncs: () => resyncs };
}

describe("connectLive", () => {
  it("connects with the token and delivers alert events", async () => {
    const backend = await startBackend();
    backends.push(backend);
    const client = connect(backend.url, GOOD_TOKEN);
    await waitFor(() => client.statuses.at(-1) === "connected", "connected");
    expect(client.statuses[0]).toBe("connecting");

    const alert = makeAlert({ id: 77, severity: "critical" });
    backend.io.emit("alert", alert);
    await waitFor(() => client.alerts.length === 1, "alert event");
    expect(client.alerts[0]).toEqual(alert);
  });

  it("delivers rule_check events it can read, and drops those it cannot", async () => {
    const backend = await startBackend();
    backends.push(backend);
    const client = connect(backend.url, GOOD_TOKEN);
    await waitFor(() => client.statuses.at(-1) === "connected", "connected");
    const check = {
      resident_id: 7,
      rule: "no_wake_up",
      verdict: "unknown",
      reason: "hub not known to be online",
      reason_text: { key: "unknown.hub_offline", params: {} },
      decided_at: "2026-03-01T23:40:00Z",
      alert_id: null,
      checked_at: "2026-03-01T23:40:00+00:00",
    };
    backend.io.emit("rule_check", { ...check, event_id: 51, verdict: "perhaps" });
    backend.io.emit("rule_check", { ...check, event_id: 52 });
    backend.io.emit("alert", { ...makeAlert({ id: 78 }), event_id: 53 }); // after it, in order
    await waitFor(() => client.alerts.length === 1, "the alert after the checks");
    expect(client.checks).toEqual([check]);
  });

  it("reports a refused token as unauthorized and stops retrying", async () => {
    const backend = await startBackend();
    backends.push(backend);
    const client = connect(backend.url, "stolen-or-expired");
    await waitFor(() => client.statuses.includes("unauthorized"), "unauthorized");
    expect(client.live.socket.active).toBe(false);
    expect(client.statuses).not.toContain("connected");
  });

  it("shows reconnecting while the server is gone and asks for a resync when it is back", async () => {
    const first = await startBackend();
    const port = Number(new URL(first.url).port);
    const client = connect(first.url, GOOD_TOKEN);
    await waitFor(() => client.statuses.at(-1) === "connected", "first connection");

    await stopBackend(first);
    await waitFor(() => client.statuses.at(-1) === "reconnecting", "reconnecting");
    expect(client.resyncs()).toBe(0);

    const second = await startBackend(port);
    backends.push(second);
    await waitFor(() => client.statuses.at(-1) === "connected", "reconnection");
    expect(client.resyncs()).toBe(1);
  });

  it("reconnects with the last event id and reloads nothing after a complete catch-up", async () => {
    for (const complete of [true, false]) {
      const first = await startBackend();
      const port = Number(new URL(first.url).port);
      const resumed: unknown[] = [];
      const caughtUp: boolean[] = [];
      const alerts: Alert[] = [];
      let resyncs = 0;
      const live = connectLive({
        url: first.url,
        getToken: () => GOOD_TOKEN,
        onAlert: (alert) => alerts.push(alert),
        onStatus: () => undefined,
        onResync: () => resyncs++,
        onCaughtUp: (p) => caughtUp.push(p.complete),
        socketOptions: { reconnectionDelay: 50, reconnectionDelayMax: 100, transports: ["websocket"] },
      });
      open.push(live);
      await waitFor(() => live.socket.connected, "first connection");
      first.io.emit("alert", { ...makeAlert({ id: 1 }), event_id: 41 });
      first.io.emit("alert", { ...makeAlert({ id: 2 }), event_id: 42 });
      first.io.emit("alert", { ...makeAlert({ id: 2 }), event_id: 42 }); // a redelivered entry
      await waitFor(() => alerts.length === 2, "two alerts");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(alerts.map((a) => a.id)).toEqual([1, 2]);
      await stopBackend(first);
      await waitFor(() => !live.socket.connected, "disconnected");

      const second = await startBackend(port);
      backends.push(second);
      second.io.on("connection", (socket) => {
        const auth = socket.handshake.auth as { last_event_id?: number };
        resumed.push(auth.last_event_id);
        socket.emit("alert", { ...makeAlert({ id: 3 }), event_id: 43, replayed: true });
        socket.emit("caught_up", { last_event_id: 43, replayed: 1, complete });
      });
      await waitFor(() => caughtUp.length + resyncs > 0, "catch-up handled");
      expect(resumed).toEqual([42]);
      expect(alerts.map((a) => a.id)).toEqual([1, 2, 3]);
      expect(live.lastEventId?.()).toBe(43);
      expect(resyncs).toBe(complete ? 0 : 1);
      expect(caughtUp).toEqual(complete ? [true] : []);
      live.close();
      await stopBackend(second);
      backends.length = 0;
    }
  });

  it("stays quiet after close", async () => {
    const backend = await startBackend();
    backends.push(backend);
    const client = connect(backend.url, GOOD_TOKEN);
    await waitFor(() => client.statuses.at(-1) === "connected", "connected");
    client.live.close();
    await stopBackend(backend);
    backends.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.statuses.at(-1)).toBe("connected");
  });
});
