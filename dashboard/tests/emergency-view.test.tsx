// @vitest-environment happy-dom
// The emergency panel's robot controls and video part in a DOM, with a stand-in controller.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DashboardController } from "../src/controller";
import { setLocale } from "../src/i18n";
import { LiveDevices } from "../src/state/liveDevices";
import type { RobotCommandBody } from "../src/state/robots";
import type { Robot, RobotCommand, VideoSessionSummary } from "../src/types";
import { RobotControls } from "../src/views/RobotControls";
import { EmergencyPanel } from "../src/views/EmergencyPanel";
import { VideoPart } from "../src/views/VideoPart";
import { mountRoot, unmountRoot } from "./dom";
import { makeAlert, makeResident } from "./fixtures";
import { settle, waiting } from "./wait";

const ROBOT: Robot = {
  id: 5,
  home_id: 1,
  serial: "robot-1",
  model: "SafeBot",
  capabilities: ["move", "speak"],
  state: "docked",
  battery_pct: 90,
  position: "Dock",
  last_seen_at: null,
};

type Listener = (event: { kind: string; payload: unknown }) => void;

function standIn(refuse: string | null, record: VideoSessionSummary[] = []) {
  const sent: { robotId: number; body: RobotCommandBody }[] = [];
  const listeners = new Set<Listener>();
  const recordCalls: number[] = [];
  const controller = {
    api: {
      robots: async () => [ROBOT],
      videoSessions: async (residentId: number) => {
        recordCalls.push(residentId);
        return record;
      },
    },
    store: { get: () => ({ session: { user: { id: 7 } } }) },
    liveListeners: listeners,
    devices: new LiveDevices(),
    liveSocket: () => null,
    sendRobotCommand: async (robotId: number, body: RobotCommandBody) => {
      sent.push({ robotId, body });
      if (refuse !== null) return { error: refuse };
      const command: RobotCommand = {
        id: 31,
        robot_id: robotId,
        command: body.command,
        args: body.args,
        state: "queued",
        attempts: 0,
        created_by: 7,
        created_at: "2026-11-23T09:00:00Z",
        updated_at: "2026-11-23T09:00:00Z",
        expires_at: "2026-11-23T09:02:00Z",
        detail: null,
      };
      return { command };
    },
  };
  const emit = (kind: string, payload: unknown) => listeners.forEach((l) => l({ kind, payload }));
  return { controller: controller as unknown as DashboardController, sent, emit, listeners, recordCalls };
}

const waitFor = waiting({ shown: () => root.textContent });

let root: HTMLElement;

beforeEach(() => {
  root = mountRoot();
});

afterEach(() => {
  unmountRoot(root);
  setLocale("en");
});

function button(name: string): HTMLButtonElement {
  const found = [...root.querySelectorAll("button")].find((b) => b.textContent === name);
  if (!found) throw new Error(`no button ${name}`);
  return found;
}

describe("robot controls", () => {
  it("sends the alert's room, speaks only with a message, and follows the progress live", async () => {
    const { controller, sent, emit } = standIn(null);
    render(
      <RobotControls controller={controller} resident={makeResident()} room="Bathroom" alertId={1} />,
      root,
    );
    await waitFor(() => root.querySelector(".robot") !== null, "the robots");
    expect(root.textContent).toContain("SafeBot (robot-1): docked · Dock · 90%");
    button("Speak").click();
    await settle();
    expect(root.querySelector("[role=alert]")?.textContent).toBe("Write the message to speak first.");
    expect(sent).toEqual([]);
    button("Send to the room").click();
    await settle();
    expect(sent).toEqual([{ robotId: 5, body: { command: "move_to", args: { room: "Bathroom" } } }]);
    expect(root.querySelector("[data-command-id='31']")?.textContent).toBe(
      "Go to a room: waiting to be sent",
    );
    emit("robot_command", {
      command_id: 31,
      robot_id: 5,
      command: "move_to",
      state: "running",
      detail: null,
    });
    emit("robot_status", { robot_id: 5, state: "moving", position: "Kitchen", battery_pct: 88 });
    emit("robot_command", { command_id: 77, robot_id: 99, command: "speak", state: "running", detail: null });
    await settle();
    expect(root.querySelector("[data-command-id='31']")?.textContent).toBe("Go to a room: running");
    expect(root.querySelector("[data-command-id='77']")).toBeNull(); // another home's robot
    expect(root.textContent).toContain("moving · Kitchen · 88%");
  });

  it("shows the server's refusal in its words, and speaks Korean", async () => {
    const { controller } = standIn("This robot cannot speak (its capabilities: move).");
    setLocale("ko");
    render(<RobotControls controller={controller} resident={makeResident()} room={null} alertId={2} />, root);
    await waitFor(() => root.querySelector("input") !== null, "the robots");
    const input = root.querySelector("input")!;
    expect(root.querySelector(`label[for="${input.id}"]`)?.textContent).toBe("로봇이 말할 메시지");
    button("방으로 보내기").click();
    await settle();
    expect(root.querySelector("[role=alert]")?.textContent).toBe("알림에 로봇을 보낼 방이 없습니다.");
    input.value = "곧 도착합니다";
    input.dispatchEvent(new Event("input"));
    await settle();
    button("말하기").click();
    await settle();
    expect(root.querySelector("[role=alert]")?.textContent).toBe(
      "거부됨: This robot cannot speak (its capabilities: move).",
    );
  });
});

describe("video part", () => {
  it("is labelled, and says so when there is no live connection to signal over", async () => {
    const { controller, listeners } = standIn(null);
    render(<VideoPart controller={controller} residentId={1} name="Ada" alertId={3} />, root);
    const video = root.querySelector("video")!;
    expect(video.getAttribute("aria-label")).toBe("Live video of Ada");
    expect(root.querySelector("[role=status]")?.textContent).toBe("Video is off.");
    button("Start live video").click();
    await settle();
    expect(root.querySelector("[role=status]")?.textContent).toBe(
      "Video refused: Live updates are interrupted.",
    );
    await waitFor(() => listeners.size === 1, "the live listener");
    render(null, root);
    await waitFor(() => listeners.size === 0, "the live listener to go with the panel");
  });
});

describe("who else is watching", () => {
  const session = (id: string, by: number, name: string, state: VideoSessionSummary["state"]) => ({
    id,
    resident_id: 1,
    requested_by: by,
    requested_by_name: name,
    state,
    requested_at: "2026-11-23T09:00:00Z",
    connected_at: null,
    ended_at: null,
  });

  it("names another carer's running session from the record, and follows it live", async () => {
    const record = [
      session("s-kim", 8, "Kim Minji", "connected"),
      session("s-mine", 7, "Me", "connected"), // this user's own (another tab): not "else"
      session("s-old", 9, "Lee", "ended"),
    ];
    const { controller, emit, recordCalls } = standIn(null, record);
    render(<VideoPart controller={controller} residentId={1} name="Ada" alertId={3} />, root);
    const others = () => root.querySelector('[data-testid="video-others"]')?.textContent;
    await waitFor(() => others() === "Also watching now: Kim Minji (live)", "the record");
    // A third carer starts: shown at once, named once the record says who.
    record.unshift(session("s-park", 10, "Park Jisoo", "requested"));
    emit("video:state", {
      session_id: "s-park",
      resident_id: 1,
      state: "requested",
      reason: null,
      requested_by: 10,
    });
    await waitFor(
      () => others() === "Also watching now: Kim Minji (live), Park Jisoo",
      "the new session, named",
    );
    expect(recordCalls.length).toBe(2);
    // Another resident's session is not this panel's business.
    emit("video:state", {
      session_id: "s-x",
      resident_id: 2,
      state: "requested",
      reason: null,
      requested_by: 11,
    });
    emit("video:state", {
      session_id: "s-kim",
      resident_id: 1,
      state: "ended",
      reason: "hangup",
      requested_by: 8,
    });
    emit("video:state", {
      session_id: "s-park",
      resident_id: 1,
      state: "ended",
      reason: "hangup",
      requested_by: 10,
    });
    await waitFor(() => others() === "", "nobody else watching");
    expect(recordCalls.length).toBe(2);
  });

  it("says it in Korean too", async () => {
    setLocale("ko");
    const { controller } = standIn(null, [session("s-kim", 8, "김민지", "requested")]);
    render(<VideoPart controller={controller} residentId={1} name="Ada" alertId={3} />, root);
    await waitFor(
      () => root.querySelector('[data-testid="video-others"]')?.textContent === "지금 함께 보는 직원: 김민지",
      "the Korean line",
    );
  });
});

describe("emergency panel", () => {
  it("takes the focus when it opens, and never again while the card renders anew", async () => {
    const { controller } = standIn(null);
    const alert = makeAlert({ room: "Bathroom" });
    const show = () =>
      render(
        // A new onClose each time, as the alert card passes it on every render.
        <EmergencyPanel alert={alert} resident={makeResident()} controller={controller} onClose={() => {}} />,
        root,
      );
    show();
    await settle(); // effects run after the render
    expect(document.activeElement?.getAttribute("role")).toBe("dialog");
    await waitFor(() => root.querySelector(".robot") !== null, "the robots");
    const dock = button("Return to dock");
    dock.focus();
    show(); // a live update renders the card again
    await settle();
    expect(document.activeElement).toBe(dock);
  });
});
