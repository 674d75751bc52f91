// The home robots' buttons in the emergency panel, with each command's live progress.
import { useEffect, useRef, useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import type { RobotCommandPayload, RobotStatusPayload } from "../events";
import { t } from "../i18n";
import {
  applyCommandEvent,
  applyRobotStatus,
  commandText,
  ROBOT_ACTIONS,
  robotCommandBody,
  robotStatusText,
  type CommandProgress,
  type RobotAction,
} from "../state/robots";
import type { Resident, Robot } from "../types";

interface Props {
  controller: DashboardController;
  resident: Resident | undefined;
  room: string | null;
  alertId: number;
}

const LABELS: Record<
  RobotAction,
  "emergency.send" | "emergency.check" | "emergency.speak" | "emergency.dock" | "emergency.stop"
> = {
  send: "emergency.send",
  check: "emergency.check",
  speak: "emergency.speak",
  dock: "emergency.dock",
  stop: "emergency.stop",
};

export function RobotControls({ controller, resident, room, alertId }: Props) {
  const homeId = resident?.home_id ?? null;
  const [robots, setRobots] = useState<Robot[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [progress, setProgress] = useState<CommandProgress[]>([]);
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const robotIds = useRef(new Set<number>());
  robotIds.current = new Set((robots ?? []).map((robot) => robot.id));

  useEffect(() => {
    let current = true;
    if (homeId === null) {
      setRobots([]);
      return;
    }
    const since = controller.devices.mark(); // status that arrives meanwhile wins
    controller.api
      .robots(homeId)
      .then((list) => current && setRobots(controller.devices.robots(list, since)))
      .catch(() => current && setLoadError(t("error.generic")));
    return () => {
      current = false;
    };
  }, [controller, homeId]);

  useEffect(() => {
    const listener = ({ kind, payload }: { kind: string; payload: unknown }) => {
      if (kind === "robot_status")
        setRobots((list) => list && applyRobotStatus(list, payload as RobotStatusPayload));
      else if (kind === "robot_command") {
        const event = payload as RobotCommandPayload;
        // Only the commands of this home's robots; a command sent elsewhere is shown there.
        setProgress((list) =>
          list.some((p) => p.commandId === event.command_id) ? applyCommandEvent(list, event) : list,
        );
      }
    };
    controller.liveListeners.add(listener);
    return () => void controller.liveListeners.delete(listener);
  }, [controller]);

  async function send(robot: Robot, action: RobotAction) {
    if (busy) return;
    const built = robotCommandBody(action, room, text);
    if ("problem" in built) {
      setProblem(built.problem);
      return;
    }
    setBusy(true);
    setProblem(null);
    const result = await controller.sendRobotCommand(robot.id, built.body);
    setBusy(false);
    if ("error" in result) {
      setProblem(`${t("robot.refused")} ${result.error}`);
      return;
    }
    const c = result.command;
    setProgress((list) =>
      applyCommandEvent(list, {
        command_id: c.id,
        robot_id: c.robot_id,
        command: c.command,
        state: c.state,
        detail: c.detail,
        detail_text: c.detail_text ?? null,
      }),
    );
  }

  const speakId = `robot-speak-${alertId}`;
  return (
    <section class="emergency__part" aria-labelledby={`robot-title-${alertId}`}>
      <h4 id={`robot-title-${alertId}`}>{t("emergency.robot")}</h4>
      {robots === null ? (
        <p class="empty">{loadError ?? t("common.loading")}</p>
      ) : robots.length === 0 ? (
        <p class="empty" data-testid="robot-none">
          {t("emergency.robotNone")}
        </p>
      ) : (
        <>
          <label for={speakId}>{t("emergency.speakText")}</label>
          <input
            id={speakId}
            type="text"
            maxLength={500}
            value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
          {robots.map((robot) => (
            <div
              key={robot.id}
              class="robot"
              data-robot-id={robot.id}
              role="group"
              aria-label={t("emergency.robotFor", { name: robot.serial })}
            >
              <p class="robot__status" data-testid="robot-status">
                <strong>{robot.model}</strong> ({robot.serial}): {robotStatusText(robot)}
              </p>
              <div class="alert__actions">
                {ROBOT_ACTIONS.map((action) => (
                  <button
                    key={action}
                    type="button"
                    class={action === "stop" ? "button button--quiet" : "button"}
                    // Not `disabled`: the focused button would lose focus (keyboard users).
                    aria-disabled={busy ? "true" : undefined}
                    onClick={() => void send(robot, action)}
                  >
                    {t(LABELS[action])}
                  </button>
                ))}
              </div>
            </div>
          ))}
        </>
      )}
      {problem && (
        <p class="message message--error" role="alert" data-testid="robot-problem">
          {problem}
        </p>
      )}
      {progress.length > 0 && (
        <>
          <h5>{t("robot.progress")}</h5>
          <ul class="robot__progress" data-testid="robot-progress" aria-live="polite">
            {progress.map((p) => (
              <li key={p.commandId} data-command-id={p.commandId} data-state={p.state}>
                {commandText(p)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
