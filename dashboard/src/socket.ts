// The live connection over Socket.IO: status, typed events, and catch-up by event id.
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import {
  ALERT_EVENT,
  CAUGHT_UP_EVENT,
  eventIdOf,
  HUB_PRESENCE_EVENT,
  NOTIFICATION_EVENT,
  parseHubPresence,
  parseRobotCommand,
  parseRobotStatus,
  parseSensorState,
  parseSensorStates,
  ROBOT_COMMAND_EVENT,
  ROBOT_STATUS_EVENT,
  RULE_CHECK_EVENT,
  parseRuleCheck,
  SENSOR_STATE_EVENT,
  SENSOR_STATES_EVENT,
  VIDEO_STATE_EVENT,
  type CaughtUpPayload,
  type HubPresencePayload,
  type NotificationPayload,
  type RobotCommandPayload,
  type RobotStatusPayload,
  type RuleCheckPayload,
  type SensorStatePayload,
  type VideoStatePayload,
} from "./events";
import { EventCursor, needsReload } from "./state/feed";
import type { Alert } from "./types";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "unauthorized";

/** How long to wait for `caught_up` after reconnecting with an id before reloading anyway. */
const CATCH_UP_WAIT_MS = 10_000;

export interface LiveOptions {
  /** Server URL; omitted in the browser, where the page's own origin is used. */
  url?: string;
  getToken: () => string | null;
  onAlert: (alert: Alert) => void;
  onStatus: (status: ConnectionStatus) => void;
  onNotification?: (payload: NotificationPayload) => void;
  onSensorState?: (payload: SensorStatePayload) => void;
  onRobotStatus?: (payload: RobotStatusPayload) => void;
  onRobotCommand?: (payload: RobotCommandPayload) => void;
  onHubPresence?: (payload: HubPresencePayload) => void;
  onRuleCheck?: (payload: RuleCheckPayload) => void;
  onVideoState?: (payload: VideoStatePayload) => void;
  /** After a reconnection whose catch-up was missing or incomplete: lists should be reloaded. */
  onResync?: () => void;
  /** After a reconnection whose catch-up was complete: nothing needs reloading. */
  onCaughtUp?: (payload: CaughtUpPayload) => void;
  /** Extra Socket.IO options (tests shorten the reconnection delay). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

export interface LiveConnection {
  readonly socket: Socket;
  /** The id of the last feed event handled (sent as `last_event_id` when reconnecting). */
  lastEventId?: () => number | null;
  close: () => void;
}

/** Connect to the backend's Socket.IO endpoint with the bearer token; returns a handle to close it. */
export function connectLive(options: LiveOptions): LiveConnection {
  const cursor = new EventCursor();
  let everConnected = false;
  let closed = false;
  // Whether the current connection attempt carries last_event_id (so a caught_up will come).
  let resuming = false;
  let catchUpTimer: ReturnType<typeof setTimeout> | null = null;

  const socketOptions: Partial<ManagerOptions & SocketOptions> = {
    path: "/socket.io/",
    // A function so each reconnection sends the current token and the last event handled.
    auth: (cb) => {
      const last = everConnected ? cursor.last : null;
      resuming = last !== null;
      cb(
        last === null
          ? { token: options.getToken() ?? "" }
          : { token: options.getToken() ?? "", last_event_id: last },
      );
    },
    ...options.socketOptions,
  };
  const socket = options.url === undefined ? io(socketOptions) : io(options.url, socketOptions);

  const settle = (caughtUp: CaughtUpPayload | null) => {
    if (catchUpTimer) clearTimeout(catchUpTimer);
    catchUpTimer = null;
    if (needsReload(resuming, caughtUp)) options.onResync?.();
    else if (caughtUp) options.onCaughtUp?.(caughtUp);
    resuming = false;
  };

  options.onStatus("connecting");
  socket.on("connect", () => {
    options.onStatus("connected");
    if (everConnected) {
      if (resuming) catchUpTimer = setTimeout(() => settle(null), CATCH_UP_WAIT_MS);
      else settle(null);
    }
    everConnected = true;
  });
  socket.on("disconnect", (reason) => {
    if (closed) return;
    options.onStatus("reconnecting");
    // After a server-side disconnect Socket.IO does not retry by itself; try once more so a
    // restarted backend is picked up, and a refused token ends up in connect_error below.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.on("connect_error", () => {
    if (closed) return;
    // Socket.IO stops retrying (active === false) when the server refused the handshake,
    // which is what a bad or expired token does; anything else is a transient failure.
    options.onStatus(socket.active ? "reconnecting" : "unauthorized");
  });
  socket.on(CAUGHT_UP_EVENT, (raw: unknown) => {
    const payload = raw as CaughtUpPayload;
    const complete = typeof payload === "object" && payload !== null && payload.complete === true;
    const last = typeof payload?.last_event_id === "number" ? payload.last_event_id : null;
    cursor.caughtUpTo(last);
    if (resuming || catchUpTimer) settle({ last_event_id: last, replayed: payload?.replayed ?? 0, complete });
    else if (!complete) options.onResync?.(); // a `resume` action's incomplete answer
  });

  // Every logged event passes the cursor first: a repeated id is dropped.
  const feed = <T>(
    event: string,
    parse: (raw: unknown) => T | null,
    handle: ((payload: T) => void) | undefined,
  ) => {
    socket.on(event, (raw: unknown) => {
      if (!cursor.accept(eventIdOf(raw))) return;
      const payload = parse(raw);
      if (payload !== null) handle?.(payload);
    });
  };
  feed(ALERT_EVENT, (raw) => raw as Alert, options.onAlert);
  feed(NOTIFICATION_EVENT, (raw) => raw as NotificationPayload, options.onNotification);
  feed(SENSOR_STATE_EVENT, parseSensorState, options.onSensorState);
  // What the page began to follow, several residents in one event (in one render).
  feed(SENSOR_STATES_EVENT, parseSensorStates, (states) => states.forEach((s) => options.onSensorState?.(s)));
  feed(ROBOT_STATUS_EVENT, parseRobotStatus, options.onRobotStatus);
  feed(ROBOT_COMMAND_EVENT, parseRobotCommand, options.onRobotCommand);
  feed(HUB_PRESENCE_EVENT, parseHubPresence, options.onHubPresence);
  feed(RULE_CHECK_EVENT, parseRuleCheck, options.onRuleCheck);
  feed(VIDEO_STATE_EVENT, (raw) => raw as VideoStatePayload, options.onVideoState);

  return {
    socket,
    lastEventId: () => cursor.last,
    close: () => {
      closed = true;
      if (catchUpTimer) clearTimeout(catchUpTimer);
      socket.disconnect();
    },
  };
}
