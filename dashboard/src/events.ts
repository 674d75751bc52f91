// Every Socket.IO event the dashboard listens to or sends, with its payload type: one place to
// follow the backend's live feed (docs/realtime.md) and video signaling (docs/video.md).
import { isServerText, type ServerText } from "./i18n/server";
import type { CheckVerdict, RuleCheck } from "./types";
/** Server -> browser: an alert was raised or changed (full Alert, own changes included). */
export const ALERT_EVENT = "alert" as const;
/** Server -> browser: an in-app notification addressed to this user (escalation steps). */
export const NOTIFICATION_EVENT = "notification" as const;
/** Server -> browser: the latest value of every sensor of a resident, by room (throttled). */
export const SENSOR_STATE_EVENT = "sensor_state" as const;
/** Server -> browser: the newest state of several residents at once, when the page begins to follow them. */
export const SENSOR_STATES_EVENT = "sensor_states" as const;
/** Server -> browser: a hub went offline or came back. */
export const HUB_PRESENCE_EVENT = "hub_presence" as const;
/** Server -> browser: a robot's state, room or battery changed. */
export const ROBOT_STATUS_EVENT = "robot_status" as const;
/** Server -> browser: one step of a robot command (queued ... succeeded / failed / expired). */
export const ROBOT_COMMAND_EVENT = "robot_command" as const;
/** Server -> browser: a windowed rule's check of a resident changed ("Today's checks"). */
export const RULE_CHECK_EVENT = "rule_check" as const;
/** Server -> browser: the end of a catch-up after a reconnection with `last_event_id`. */
export const CAUGHT_UP_EVENT = "caught_up" as const;
/** Server -> browser: a refused action. */
export const FEED_ERROR_EVENT = "feed_error" as const;

/** Video signaling (docs/video.md, "Socket.IO events"). */
export const VIDEO_STATE_EVENT = "video:state" as const;
export const VIDEO_ANSWER_EVENT = "video:answer" as const;
export const VIDEO_CANDIDATE_EVENT = "video:candidate" as const;
export const VIDEO_ERROR_EVENT = "video:error" as const;
export const VIDEO_OFFER_EVENT = "video:offer" as const;
export const VIDEO_HANGUP_EVENT = "video:hangup" as const;

export interface NotificationPayload {
  alert_id?: number | undefined;
  resident_id?: number | undefined;
  title?: string | undefined;
  body?: string | undefined;
  [key: string]: unknown;
}

export interface SensorValue {
  sensor_id: number;
  kind: string;
  value: number;
  /** When the sensor read it, epoch milliseconds (the backend sends the hub's ms timestamp). */
  ts: number;
}

export interface RoomSensors {
  room_id: number | null;
  room: string | null;
  sensors: SensorValue[];
}

/** SENSOR_STATE_EVENT: every sensor of the resident that reported, by room. */
export interface SensorStatePayload {
  resident_id: number;
  home_id: number | null;
  rooms: RoomSensors[];
  changed_room_ids: number[];
}

export interface HubPresencePayload {
  hub_id: number;
  hub_serial?: string | undefined;
  home_id: number | null;
  resident_id: number | null;
  online: boolean;
  at?: string | undefined;
  last_seen_at: string | null;
  cause?: string | null | undefined;
}

export interface RobotStatusPayload {
  robot_id: number;
  robot_serial?: string | undefined;
  state: string | null;
  position: string | null;
  battery_pct: number | null;
  at?: string | undefined;
  home_id?: number | null | undefined;
  resident_id?: number | null | undefined;
}

export interface RobotCommandPayload {
  command_id: number;
  robot_id: number;
  command: string;
  state: string;
  attempts?: number | undefined;
  detail: string | null;
  /** The detail as a server text when SST wrote it (expiry, a refused command). */
  detail_text?: ServerText | null | undefined;
  at?: string | undefined;
  resident_id?: number | null | undefined;
}

/** RULE_CHECK_EVENT: the check as GET /residents/{id}/rule-checks gives it, and whose it is. */
export interface RuleCheckPayload extends RuleCheck {
  resident_id: number;
  verdict: CheckVerdict;
  decided_at: string;
  /** The evaluation that gave the check. */
  checked_at: string | null;
}

export interface CaughtUpPayload {
  last_event_id: number | null;
  replayed: number;
  complete: boolean;
}

export interface VideoStatePayload {
  session_id: string;
  resident_id: number;
  state: "requested" | "connected" | "ended";
  reason: string | null;
  requested_by?: number | undefined;
}

export interface VideoAnswerPayload {
  session_id: string;
  type: "answer";
  sdp: string;
}

export interface VideoCandidatePayload {
  session_id: string;
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export interface VideoErrorPayload {
  session_id?: string | undefined;
  code: string;
  message: string;
}

/** The acknowledgement of every client -> server event. */
export type Ack = { ok: true } | { ok: false; error: { code: string; message: string } };

function isObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === "object" && raw !== null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}

/** A sensor_state payload, or null when the shape is not the one this page understands. */
export function parseSensorState(raw: unknown): SensorStatePayload | null {
  if (!isObject(raw) || typeof raw.resident_id !== "number" || !Array.isArray(raw.rooms)) return null;
  const rooms: RoomSensors[] = [];
  for (const room of raw.rooms) {
    if (!isObject(room) || !Array.isArray(room.sensors)) return null;
    const sensors: SensorValue[] = [];
    for (const s of room.sensors) {
      if (!isObject(s) || typeof s.sensor_id !== "number" || typeof s.kind !== "string") return null;
      // The backend sends epoch milliseconds; an ISO time is taken too.
      const ts = typeof s.ts === "number" ? s.ts : typeof s.ts === "string" ? Date.parse(s.ts) : NaN;
      if (typeof s.value !== "number" || !Number.isFinite(ts)) return null;
      sensors.push({ sensor_id: s.sensor_id, kind: s.kind, value: s.value, ts });
    }
    rooms.push({
      room_id: numberOrNull(room.room_id),
      room: typeof room.room === "string" ? room.room : null,
      sensors,
    });
  }
  const changed = Array.isArray(raw.changed_room_ids)
    ? raw.changed_room_ids.filter((id): id is number => typeof id === "number")
    : [];
  return {
    resident_id: raw.resident_id,
    home_id: numberOrNull(raw.home_id),
    rooms,
    changed_room_ids: changed,
  };
}

/** A sensor_states payload's states (one of another shape is dropped), or null. */
export function parseSensorStates(raw: unknown): SensorStatePayload[] | null {
  if (!isObject(raw) || !Array.isArray(raw.states)) return null;
  return raw.states.map((state) => parseSensorState(state)).filter((s) => s !== null);
}

/** A robot_status payload, or null. */
export function parseRobotStatus(raw: unknown): RobotStatusPayload | null {
  if (!isObject(raw) || typeof raw.robot_id !== "number") return null;
  return {
    robot_id: raw.robot_id,
    robot_serial: typeof raw.robot_serial === "string" ? raw.robot_serial : undefined,
    state: typeof raw.state === "string" ? raw.state : null,
    position: typeof raw.position === "string" ? raw.position : null,
    battery_pct: numberOrNull(raw.battery_pct),
    at: typeof raw.at === "string" ? raw.at : undefined,
    home_id: numberOrNull(raw.home_id),
    resident_id: numberOrNull(raw.resident_id),
  };
}

/** A robot_command payload, or null. */
export function parseRobotCommand(raw: unknown): RobotCommandPayload | null {
  if (!isObject(raw) || typeof raw.command_id !== "number" || typeof raw.robot_id !== "number") return null;
  if (typeof raw.state !== "string" || typeof raw.command !== "string") return null;
  return {
    command_id: raw.command_id,
    robot_id: raw.robot_id,
    command: raw.command,
    state: raw.state,
    attempts: typeof raw.attempts === "number" ? raw.attempts : undefined,
    detail: typeof raw.detail === "string" ? raw.detail : null,
    detail_text: isServerText(raw.detail_text) ? raw.detail_text : null,
    at: typeof raw.at === "string" ? raw.at : undefined,
    resident_id: numberOrNull(raw.resident_id),
  };
}

const VERDICTS: readonly string[] = ["fine", "alert", "unknown"] satisfies CheckVerdict[];

function isTime(value: unknown): value is string {
  return typeof value === "string" && Number.isFinite(Date.parse(value));
}

/** A rule_check payload, or null (a check the page could not place or order is dropped). */
export function parseRuleCheck(raw: unknown): RuleCheckPayload | null {
  if (!isObject(raw) || !Number.isInteger(raw.resident_id) || typeof raw.rule !== "string") return null;
  if (raw.rule === "" || typeof raw.verdict !== "string" || !VERDICTS.includes(raw.verdict)) return null;
  if (!isTime(raw.decided_at)) return null;
  if (raw.reason !== null && raw.reason !== undefined && typeof raw.reason !== "string") return null;
  return {
    resident_id: raw.resident_id as number,
    rule: raw.rule,
    verdict: raw.verdict as CheckVerdict,
    reason: typeof raw.reason === "string" ? raw.reason : null,
    reason_text: isServerText(raw.reason_text) ? raw.reason_text : null,
    decided_at: raw.decided_at,
    alert_id: numberOrNull(raw.alert_id),
    checked_at: isTime(raw.checked_at) ? raw.checked_at : null,
  };
}

/** A hub_presence payload, or null. */
export function parseHubPresence(raw: unknown): HubPresencePayload | null {
  if (!isObject(raw) || typeof raw.hub_id !== "number" || typeof raw.online !== "boolean") return null;
  return {
    hub_id: raw.hub_id,
    hub_serial: typeof raw.hub_serial === "string" ? raw.hub_serial : undefined,
    home_id: numberOrNull(raw.home_id),
    resident_id: numberOrNull(raw.resident_id),
    online: raw.online,
    at: typeof raw.at === "string" ? raw.at : undefined,
    last_seen_at: typeof raw.last_seen_at === "string" ? raw.last_seen_at : null,
    cause: typeof raw.cause === "string" ? raw.cause : null,
  };
}

/** The event id of a live-feed payload (null: not logged, or not a feed event). */
export function eventIdOf(raw: unknown): number | null {
  return isObject(raw) && typeof raw.event_id === "number" ? raw.event_id : null;
}
