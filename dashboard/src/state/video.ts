// The emergency video call's state as the panel shows it, changed by one pure reducer.
import type { VideoErrorPayload, VideoStatePayload } from "../events";
import { serverText, t } from "../i18n";
import type { VideoRecording, VideoSessionSummary } from "../types";
import { formatDuration, formatLocalTime } from "./format";

export type VideoPhase = "idle" | "requesting" | "connecting" | "live" | "ended" | "refused";

export interface VideoView {
  phase: VideoPhase;
  sessionId: string | null;
  /** The camera reported media flowing (video:state connected). */
  cameraConnected: boolean;
  /** Why it ended (a code of docs/video.md: hangup, no_answer, camera: ...). */
  reason: string | null;
  /** The server's own words when it refused (HTTP error or video:error). */
  message: string | null;
  /** The server records this session (shown while it runs). */
  recorded: boolean;
}

export type VideoAction =
  | { type: "request" }
  | { type: "created"; sessionId: string; recorded?: boolean }
  | { type: "refused"; message: string }
  | { type: "state"; payload: VideoStatePayload }
  | { type: "error"; payload: VideoErrorPayload }
  | { type: "playing" }
  | { type: "failed"; reason: string };

export const IDLE_VIDEO: VideoView = {
  phase: "idle",
  sessionId: null,
  cameraConnected: false,
  reason: null,
  message: null,
  recorded: false,
};

const RUNNING: readonly VideoPhase[] = ["requesting", "connecting", "live"];

/** Whether a call is under way (Stop is offered, Start is not). */
export function isRunning(view: VideoView): boolean {
  return RUNNING.includes(view.phase);
}

/** Apply one step; events of another session are ignored. */
export function reduceVideo(view: VideoView, action: VideoAction): VideoView {
  switch (action.type) {
    case "request":
      return isRunning(view) ? view : { ...IDLE_VIDEO, phase: "requesting" };
    case "created":
      return view.phase === "requesting"
        ? { ...view, phase: "connecting", sessionId: action.sessionId, recorded: action.recorded ?? false }
        : view;
    case "refused":
      return isRunning(view) ? { ...view, phase: "refused", message: action.message } : view;
    case "state": {
      const p = action.payload;
      if (p.session_id !== view.sessionId || !isRunning(view)) return view;
      if (p.state === "ended") return { ...view, phase: "ended", reason: p.reason ?? "hangup" };
      if (p.state === "connected") return { ...view, cameraConnected: true };
      return view;
    }
    case "error": {
      const p = action.payload;
      if (!isRunning(view) || (p.session_id !== undefined && p.session_id !== view.sessionId)) return view;
      return { ...view, phase: "refused", message: serverText(p.code, p.message) };
    }
    case "playing":
      return view.phase === "connecting" ? { ...view, phase: "live" } : view;
    case "failed":
      return isRunning(view) ? { ...view, phase: "ended", reason: action.reason } : view;
  }
}

/** Why a session ended, in the page's language. */
export function endReasonText(reason: string | null): string {
  const code = (reason ?? "hangup").split(":")[0]!.trim();
  switch (code) {
    case "hangup":
      return t("video.end.hangup");
    case "viewer_left":
      return t("video.end.viewerLeft");
    case "no_answer":
      return t("video.end.noAnswer");
    case "timeout":
      return t("video.end.timeout");
    case "alert_resolved":
      return t("video.end.alertResolved");
    case "camera":
      return t("video.end.camera", { why: (reason ?? "").slice(reason!.indexOf(":") + 1).trim() });
    case "connection":
      return t("video.end.connection");
    default:
      return t("video.end.other", { why: reason ?? "" });
  }
}

/** The status line of the panel. */
export function videoStatusText(view: VideoView): string {
  switch (view.phase) {
    case "idle":
      return t("video.idle");
    case "requesting":
      return t("video.requesting");
    case "connecting":
      return view.cameraConnected ? t("video.cameraConnected") : t("video.connecting");
    case "live":
      return t("video.live");
    case "ended":
      return `${t("video.ended")} ${endReasonText(view.reason)}`;
    case "refused":
      return `${t("video.refused")} ${view.message ?? ""}`.trim();
  }
}

/** Someone else's running session of the same resident: the panel says who else is looking. */
export interface OtherViewer {
  sessionId: string;
  /** Null until the record names who asked for it. */
  name: string | null;
  live: boolean;
}

function isOwn(
  sessionId: string,
  requestedBy: number | null | undefined,
  own: string | null,
  me: number | null,
) {
  return sessionId === own || (me !== null && requestedBy === me);
}

/** The running sessions of the record (newest first) other than this user's own, oldest first
 * as live events append them. */
export function othersFromRecord(
  rows: readonly VideoSessionSummary[],
  own: string | null,
  me: number | null,
): OtherViewer[] {
  return [...rows]
    .reverse()
    .filter((row) => row.state !== "ended" && !isOwn(row.id, row.requested_by, own, me))
    .map((row) => ({
      sessionId: row.id,
      name: row.requested_by_name ?? null,
      live: row.state === "connected",
    }));
}

/** One `video:state` event applied to the others' sessions (this user's own are not shown). */
export function applyOtherState(
  others: readonly OtherViewer[],
  p: VideoStatePayload,
  own: string | null,
  me: number | null,
): readonly OtherViewer[] {
  if (isOwn(p.session_id, p.requested_by, own, me)) return others;
  if (p.state === "ended") {
    return others.some((o) => o.sessionId === p.session_id)
      ? others.filter((o) => o.sessionId !== p.session_id)
      : others;
  }
  const live = p.state === "connected";
  const known = others.find((o) => o.sessionId === p.session_id);
  if (known === undefined) return [...others, { sessionId: p.session_id, name: null, live }];
  if (known.live === live) return others;
  return others.map((o) => (o.sessionId === p.session_id ? { ...o, live } : o));
}

/** "Also watching: Kim Minji (live), another carer", or null when nobody else is. */
export function othersText(others: readonly OtherViewer[]): string | null {
  if (others.length === 0) return null;
  const names = others.map(
    (o) => `${o.name ?? t("video.anotherCarer")}${o.live ? ` (${t("video.othersLive")})` : ""}`,
  );
  return t("video.others", { names: names.join(", ") });
}

/** One recording as the resident page lists it. */
export interface RecordingLine {
  id: number;
  /** When it started, in the home's time. */
  when: string;
  /** "State · length · size" in the page's language. */
  details: string;
  /** Only a stored recording can be downloaded. */
  downloadable: boolean;
  /** When retention deletes it, in the home's time. */
  keptUntil: string;
  /** File name for the download. */
  fileName: string;
}

/** "1.2 MB", "830 kB": a file's size. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1000))} kB`;
}

export function recordingLine(
  rec: VideoRecording,
  zone: string | null | undefined,
  now: Date,
): RecordingLine {
  const parts = [t(`recordings.state.${rec.state}`)];
  if (rec.state === "stored") {
    if (rec.duration_s !== null) parts.push(formatDuration(rec.duration_s));
    if (rec.size_bytes !== null) parts.push(formatBytes(rec.size_bytes));
  }
  if (rec.state === "failed" && rec.error) parts.push(rec.error);
  return {
    id: rec.id,
    when: formatLocalTime(rec.started_at, zone, now),
    details: parts.join(" · "),
    downloadable: rec.state === "stored",
    keptUntil: formatLocalTime(rec.delete_after, zone, now),
    fileName: `sst-recording-${rec.session_id}.mp4`,
  };
}
