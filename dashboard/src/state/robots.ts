// Robots of a home as the live feed changes them, and the progress of the commands sent to them.
import type { RobotCommandPayload, RobotStatusPayload } from "../events";
import { t, type MessageKey } from "../i18n";
import { en } from "../i18n/en";
import { serverWords, type ServerText } from "../i18n/server";
import type { Robot } from "../types";

/** The buttons of the emergency panel. */
export type RobotAction = "send" | "check" | "speak" | "dock" | "stop";
export const ROBOT_ACTIONS: readonly RobotAction[] = ["send", "check", "speak", "dock", "stop"];

export interface RobotCommandBody {
  command: "move_to" | "check_on_resident" | "speak" | "return_to_dock" | "stop";
  args: Record<string, string>;
}

/** The POST body of a button, or a reason it cannot be sent (shown beside the buttons). */
export function robotCommandBody(
  action: RobotAction,
  room: string | null,
  text: string,
): { body: RobotCommandBody } | { problem: string } {
  switch (action) {
    case "send":
      if (!room) return { problem: t("robot.noRoom") };
      return { body: { command: "move_to", args: { room } } };
    case "check":
      return { body: { command: "check_on_resident", args: room ? { room } : {} } };
    case "speak": {
      const words = text.trim();
      if (words.length === 0) return { problem: t("robot.speakEmpty") };
      if (words.length > 500) return { problem: t("robot.speakTooLong") };
      return { body: { command: "speak", args: { text: words } } };
    }
    case "dock":
      return { body: { command: "return_to_dock", args: {} } };
    case "stop":
      return { body: { command: "stop", args: {} } };
  }
}

/** A robot list with one robot's new status applied (others untouched; unknown robot: same list). */
export function applyRobotStatus(robots: readonly Robot[], status: RobotStatusPayload): Robot[] {
  if (!robots.some((robot) => robot.id === status.robot_id)) return robots as Robot[];
  return robots.map((robot) =>
    robot.id === status.robot_id
      ? {
          ...robot,
          state: status.state ?? robot.state,
          position: status.position ?? robot.position,
          battery_pct: status.battery_pct ?? robot.battery_pct,
          last_seen_at: status.at ?? robot.last_seen_at,
        }
      : robot,
  );
}

export interface CommandProgress {
  commandId: number;
  robotId: number;
  command: string;
  state: string;
  detail: string | null;
  detailText?: ServerText | null | undefined;
}

const ORDER: Record<string, number> = { queued: 0, sent: 1, acknowledged: 2, running: 3 };
const FINAL = new Set(["succeeded", "failed", "expired", "cancelled"]);

/** Whether a command has reached its end. */
export function isFinal(state: string): boolean {
  return FINAL.has(state);
}

/** The command's progress after one `robot_command` event; a late earlier step never undoes a later one. */
export function applyCommandEvent(
  progress: readonly CommandProgress[],
  event: RobotCommandPayload,
): CommandProgress[] {
  const before = progress.find((p) => p.commandId === event.command_id);
  const next: CommandProgress = {
    commandId: event.command_id,
    robotId: event.robot_id,
    command: event.command,
    state: event.state,
    detail: event.detail,
    detailText: event.detail_text ?? null,
  };
  if (before !== undefined) {
    const rank = (s: string) => (isFinal(s) ? 10 : (ORDER[s] ?? -1));
    if (rank(event.state) < rank(before.state)) return progress as CommandProgress[];
    return progress.map((p) =>
      p.commandId === event.command_id
        ? {
            ...next,
            detail: next.detail ?? p.detail,
            detailText: next.detail === null ? p.detailText : next.detailText,
          }
        : p,
    );
  }
  return [next, ...progress].slice(0, 10);
}

function label(prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return key in en ? t(key as MessageKey) : value;
}

/** One line of progress: "Go to a room: running", "Speak: failed — battery too low". */
export function commandText(p: CommandProgress): string {
  const words = `${label("robot.command", p.command)}: ${label("robot.state", p.state)}`;
  return p.detail ? `${words} — ${serverWords(p.detailText, p.detail)}` : words;
}

/** A robot's state in words, e.g. "moving · Kitchen · 84%". */
export function robotStatusText(robot: Robot): string {
  return [
    robot.state === null ? t("robot.unknown") : label("robot.status", robot.state),
    robot.position,
    robot.battery_pct === null ? null : `${Math.round(robot.battery_pct)}%`,
  ]
    .filter((part) => part !== null && part !== "")
    .join(" · ");
}
