// The emergency panel's and live feed's pure state: event ids, video call, robots, rooms.
import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../src/i18n";
import { liveActiveRooms } from "../src/state/activity";
import { EventCursor, needsReload } from "../src/state/feed";
import {
  applyCommandEvent,
  applyRobotStatus,
  commandText,
  robotCommandBody,
  robotStatusText,
} from "../src/state/robots";
import { initialState, reduce } from "../src/state/store";
import { IDLE_VIDEO, isRunning, reduceVideo, videoStatusText, type VideoView } from "../src/state/video";
import type { Robot } from "../src/types";

afterEach(() => setLocale("en"));

const ROBOT: Robot = {
  id: 5,
  home_id: 1,
  serial: "robot-1",
  model: "SafeBot",
  capabilities: ["move", "check", "speak", "dock"],
  state: "docked",
  battery_pct: 90,
  position: "Dock",
  last_seen_at: null,
};

describe("event cursor", () => {
  it("keeps the newest id, drops a repeated one, lets unlogged events through", () => {
    const cursor = new EventCursor();
    expect(cursor.last).toBeNull();
    expect(cursor.accept(null)).toBe(true);
    expect(cursor.last).toBeNull();
    expect(cursor.accept(7)).toBe(true);
    expect(cursor.accept(9)).toBe(true);
    expect(cursor.accept(8)).toBe(true); // another instance's event, a little late: still news
    expect(cursor.last).toBe(9);
    expect(cursor.accept(7)).toBe(false);
    cursor.caughtUpTo(12);
    expect(cursor.last).toBe(12);
    cursor.caughtUpTo(3);
    expect(cursor.last).toBe(12);
  });

  it("reloads only when the catch-up was missing or incomplete", () => {
    expect(needsReload(false, null)).toBe(true);
    expect(needsReload(true, null)).toBe(true);
    expect(needsReload(true, { complete: false })).toBe(true);
    expect(needsReload(true, { complete: true })).toBe(false);
  });
});

describe("video call state", () => {
  const connecting = (): VideoView =>
    reduceVideo(reduceVideo(IDLE_VIDEO, { type: "request" }), { type: "created", sessionId: "s1" });

  it("knows whether the server records the call, and forgets it with the next request", () => {
    expect(connecting().recorded).toBe(false);
    const requesting = reduceVideo(IDLE_VIDEO, { type: "request" });
    const recorded = reduceVideo(requesting, { type: "created", sessionId: "s2", recorded: true });
    expect(recorded).toMatchObject({ phase: "connecting", recorded: true });
    const ended = reduceVideo(recorded, { type: "failed", reason: "hangup" });
    expect(reduceVideo(ended, { type: "request" }).recorded).toBe(false);
  });

  it("goes requesting -> connecting -> live -> ended, with the reason in words", () => {
    const requesting = reduceVideo(IDLE_VIDEO, { type: "request" });
    expect(requesting.phase).toBe("requesting");
    let view = connecting();
    expect(view).toMatchObject({ phase: "connecting", sessionId: "s1" });
    view = reduceVideo(view, {
      type: "state",
      payload: { session_id: "s1", resident_id: 1, state: "connected", reason: null },
    });
    expect(view.cameraConnected).toBe(true);
    expect(view.phase).toBe("connecting");
    view = reduceVideo(view, { type: "playing" });
    expect(view.phase).toBe("live");
    expect(isRunning(view)).toBe(true);
    view = reduceVideo(view, {
      type: "state",
      payload: { session_id: "s1", resident_id: 1, state: "ended", reason: "no_answer" },
    });
    expect(view).toMatchObject({ phase: "ended", reason: "no_answer" });
    expect(videoStatusText(view)).toBe("Video ended. The camera did not answer in time.");
    // Nothing after the end changes it.
    expect(reduceVideo(view, { type: "playing" })).toBe(view);
  });

  it("ignores another session's events and shows a refusal in the server's words", () => {
    const view = connecting();
    const other = { session_id: "s2", resident_id: 1, state: "ended" as const, reason: "hangup" };
    expect(reduceVideo(view, { type: "state", payload: other })).toBe(view);
    expect(
      reduceVideo(view, { type: "error", payload: { session_id: "s2", code: "forbidden", message: "x" } }),
    ).toBe(view);
    const refused = reduceVideo(reduceVideo(IDLE_VIDEO, { type: "request" }), {
      type: "refused",
      message: "Only members of staff may ask for video.",
    });
    expect(refused.phase).toBe("refused");
    expect(videoStatusText(refused)).toBe("Video refused: Only members of staff may ask for video.");
    expect(reduceVideo(refused, { type: "request" }).phase).toBe("requesting");
  });

  it("says a camera's own reason, in Korean too", () => {
    const ended = reduceVideo(connecting(), {
      type: "state",
      payload: { session_id: "s1", resident_id: 1, state: "ended", reason: "camera: connection failed" },
    });
    expect(videoStatusText(ended)).toBe("Video ended. The camera ended it (connection failed).");
    setLocale("ko");
    expect(videoStatusText(ended)).toBe("영상이 끝났습니다. 카메라가 종료했습니다 (connection failed).");
  });
});

describe("robots", () => {
  it("builds each button's command, refusing what cannot be sent", () => {
    expect(robotCommandBody("send", "Bathroom", "")).toEqual({
      body: { command: "move_to", args: { room: "Bathroom" } },
    });
    expect(robotCommandBody("send", null, "")).toEqual({
      problem: "The alert names no room to send the robot to.",
    });
    expect(robotCommandBody("check", null, "")).toEqual({ body: { command: "check_on_resident", args: {} } });
    expect(robotCommandBody("speak", null, "  Help is coming  ")).toEqual({
      body: { command: "speak", args: { text: "Help is coming" } },
    });
    expect(robotCommandBody("speak", null, "   ")).toHaveProperty("problem");
    expect(robotCommandBody("speak", null, "x".repeat(501))).toHaveProperty("problem");
    expect(robotCommandBody("dock", "Kitchen", "")).toEqual({
      body: { command: "return_to_dock", args: {} },
    });
    expect(robotCommandBody("stop", "Kitchen", "")).toEqual({ body: { command: "stop", args: {} } });
  });

  it("applies a status to its robot only", () => {
    const other = { ...ROBOT, id: 6 };
    const list = [ROBOT, other];
    const next = applyRobotStatus(list, {
      robot_id: 5,
      state: "moving",
      position: "Kitchen",
      battery_pct: 88.4,
    });
    expect(next[0]).toMatchObject({ state: "moving", position: "Kitchen", battery_pct: 88.4 });
    expect(next[1]).toBe(other);
    expect(robotStatusText(next[0]!)).toBe("moving · Kitchen · 88%");
    expect(applyRobotStatus(list, { robot_id: 99, state: "idle", position: null, battery_pct: null })).toBe(
      list,
    );
  });

  it("follows a command's progress; a late earlier step does not undo a later one", () => {
    const base = { command_id: 1, robot_id: 5, command: "move_to", detail: null };
    let progress = applyCommandEvent([], { ...base, state: "queued" });
    progress = applyCommandEvent(progress, { ...base, state: "running" });
    progress = applyCommandEvent(progress, { ...base, state: "sent" });
    expect(progress).toHaveLength(1);
    expect(progress[0]!.state).toBe("running");
    progress = applyCommandEvent(progress, { ...base, state: "failed", detail: "battery too low" });
    expect(commandText(progress[0]!)).toBe("Go to a room: failed — battery too low");
    progress = applyCommandEvent(progress, { ...base, state: "running" });
    expect(progress[0]!.state).toBe("failed");
  });

  it("says SST's own details (expiry) in the page's language, a robot's words as they are", () => {
    const base = { command_id: 2, robot_id: 5, command: "speak" };
    const expired = applyCommandEvent([], {
      ...base,
      state: "expired",
      detail: "expired while waiting for the robot",
      detail_text: { key: "robot.expired_waiting", params: {} },
    });
    expect(commandText(expired[0]!)).toBe(
      "Speak: expired (not done in time) — expired while waiting for the robot",
    );
    setLocale("ko");
    expect(commandText(expired[0]!)).toBe("말하기: 만료됨(제시간에 못 함) — 로봇을 기다리다 만료됨");
    const own = applyCommandEvent([], { ...base, state: "failed", detail: "battery too low" });
    expect(commandText(own[0]!)).toContain("— battery too low");
  });

  it("says a robot's progress in the page's language when it sent its words as a text", () => {
    const base = { command_id: 3, robot_id: 5, command: "move_to" };
    let progress = applyCommandEvent([], {
      ...base,
      state: "running",
      detail: "starting at the dock",
      detail_text: { key: "robot.progress.starting_at_dock", params: {} },
    });
    expect(commandText(progress[0]!)).toBe("Go to a room: running — starting at the dock");
    progress = applyCommandEvent(progress, {
      ...base,
      state: "failed",
      detail: "path to the Bathroom is blocked at the Hall",
      detail_text: {
        key: "robot.progress.blocked",
        params: { room: "Bathroom", room_kind: "bathroom", at: "Hall", at_kind: "hall" },
      },
    });
    setLocale("ko");
    expect(commandText(progress[0]!)).toBe("방으로 이동: 실패 — 욕실까지 가는 길이 복도에서 막힘");
    const low = applyCommandEvent([], {
      ...base,
      command: "check_on_resident",
      state: "failed",
      detail: "battery too low (18%) to reach the Bedroom and keep a reserve; send me to the dock first",
      detail_text: {
        key: "robot.progress.battery_low",
        params: { battery: 18, room: "Bedroom", room_kind: "bedroom" },
      },
    });
    expect(commandText(low[0]!)).toContain(
      "배터리 부족(18%): 예비 전력을 남기고 침실까지 갈 수 없음. 먼저 충전대로 보내 주세요",
    );
  });

  it("updates the overview's robots and hubs from live events", () => {
    let state = reduce(initialState(), {
      type: "extrasLoaded",
      residentId: 1,
      extras: { robots: [ROBOT], hubs: [{ id: 3, home_id: 1, online: true, last_seen_at: null }] },
    });
    state = reduce(state, {
      type: "robotStatus",
      status: { robot_id: 5, state: "offline", position: null, battery_pct: null },
    });
    expect(state.extras[1]!.robots![0]!.state).toBe("offline");
    state = reduce(state, {
      type: "hubPresence",
      presence: {
        hub_id: 3,
        home_id: 1,
        resident_id: 1,
        online: false,
        last_seen_at: "2026-11-23T09:00:00Z",
      },
    });
    expect(state.extras[1]!.hubs![0]).toMatchObject({ online: false, last_seen_at: "2026-11-23T09:00:00Z" });
    expect(
      reduce(state, {
        type: "hubPresence",
        presence: { hub_id: 99, home_id: 2, resident_id: 2, online: true, last_seen_at: null },
      }),
    ).toBe(state);
  });
});

describe("live rooms", () => {
  it("lights rooms with a presence sensor above zero, recently", () => {
    const now = new Date("2026-11-23T10:00:00Z");
    const rooms = liveActiveRooms(
      {
        resident_id: 1,
        home_id: 1,
        changed_room_ids: [1],
        rooms: [
          {
            room_id: 1,
            room: "Kitchen",
            sensors: [{ sensor_id: 1, kind: "motion", value: 1, ts: Date.parse("2026-11-23T09:59:00Z") }],
          },
          {
            room_id: 2,
            room: "Bedroom",
            sensors: [{ sensor_id: 2, kind: "motion", value: 0, ts: Date.parse("2026-11-23T09:59:00Z") }],
          },
          {
            room_id: 3,
            room: "Hall",
            sensors: [{ sensor_id: 3, kind: "door", value: 1, ts: Date.parse("2026-11-23T09:00:00Z") }],
          },
          {
            room_id: 4,
            room: "Living",
            sensors: [
              { sensor_id: 4, kind: "temperature", value: 21, ts: Date.parse("2026-11-23T09:59:00Z") },
            ],
          },
        ],
      },
      now,
    );
    expect([...rooms]).toEqual([1]);
  });
});

describe("last seen, live", () => {
  const loaded = () => {
    let state = reduce(initialState(), {
      type: "loaded",
      residents: [
        {
          id: 7,
          full_name: "Ada",
          facility_id: 1,
          home_id: 1,
          timezone: "Asia/Seoul",
          open_alerts: { critical: 0, high: 0, medium: 0, low: 0 },
        },
      ],
      alerts: [],
    });
    state = reduce(state, {
      type: "extrasLoaded",
      residentId: 7,
      extras: { lastActivity: { roomId: 2, room: "Bedroom", date: "2026-11-23", hour: 7 } },
    });
    return state;
  };
  // 2026-11-23 09:15 in Seoul (UTC+9) is 00:15 UTC.
  const at915 = Date.UTC(2026, 10, 23, 0, 15);
  const reading = (kind: string, value: number, ts: number) => ({
    type: "sensorState" as const,
    state: {
      resident_id: 7,
      home_id: 1,
      changed_room_ids: [3],
      rooms: [{ room_id: 3, room: "Kitchen", sensors: [{ sensor_id: 9, kind, value, ts }] }],
    },
  });

  it("moves to the room and local hour of the newest presence reading", () => {
    const state = reduce(loaded(), reading("motion", 1, at915));
    expect(state.extras[7]?.lastActivity).toEqual({
      roomId: 3,
      room: "Kitchen",
      date: "2026-11-23",
      hour: 9,
    });
  });

  it("ignores readings that say nobody is there, and older news", () => {
    const before = loaded();
    expect(reduce(before, reading("temperature", 21, at915))).toBe(before);
    expect(reduce(before, reading("motion", 0, at915))).toBe(before);
    const sixAm = Date.UTC(2026, 10, 22, 21, 0); // 06:00 in Seoul, before the 07:00 heatmap hour
    expect(reduce(before, reading("motion", 1, sixAm))).toBe(before);
  });
});
