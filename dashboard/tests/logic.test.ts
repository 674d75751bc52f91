import { describe, expect, it } from "vitest";
import { parseSensorState, parseSensorStates } from "../src/events";
import { setLocale } from "../src/i18n";
import { loadPrefs, savePrefs } from "../src/prefs";
import { parseRoute, routeHash } from "../src/router";
import { activeRooms, heatmapGrid, lastActivity } from "../src/state/activity";
import { bandPath, linePath, niceCeil, trendSeries } from "../src/state/charts";
import { localDate, localHour, shiftDate } from "../src/state/format";
import type { ActivityHeatmap, DailyTrendDay } from "../src/types";
import { lastSeenText } from "../src/views/ResidentList";
import { MemoryStorage } from "./fixtures";

const hours = (pairs: Record<number, number>) => Array.from({ length: 24 }, (_, h) => pairs[h] ?? 0);

const HEATMAP: ActivityHeatmap = {
  resident_id: 1,
  timezone: "Asia/Seoul",
  start_date: "2026-03-02",
  end_date: "2026-03-03",
  rooms: [
    { room_id: 1, name: "Kitchen", kind: "kitchen" },
    { room_id: 2, name: "Bathroom", kind: "bathroom" },
  ],
  rows: [
    { room_id: 1, date: "2026-03-02", events: hours({ 8: 4, 22: 1 }) },
    { room_id: 1, date: "2026-03-03", events: hours({ 7: 2, 9: 3 }) },
    { room_id: 2, date: "2026-03-03", events: hours({ 9: 5, 6: 1 }) },
  ],
};

describe("routes", () => {
  it("parses the pages and refuses what is not one", () => {
    expect(parseRoute("")).toEqual({ name: "overview" });
    expect(parseRoute("#/")).toEqual({ name: "overview" });
    expect(parseRoute("#alerts-title")).toEqual({ name: "overview" });
    expect(parseRoute("#/residents/12")).toEqual({ name: "resident", residentId: 12 });
    expect(parseRoute("#/residents/12/")).toEqual({ name: "resident", residentId: 12 });
    expect(parseRoute("#/residents/abc")).toEqual({ name: "notFound" });
    expect(parseRoute("#/admin")).toEqual({ name: "admin", tab: "residents" });
    expect(parseRoute("#/admin/devices")).toEqual({ name: "admin", tab: "devices" });
    expect(parseRoute("#/admin/contacts")).toEqual({ name: "admin", tab: "contacts" });
    expect(parseRoute("#/admin/secrets")).toEqual({ name: "notFound" });
    expect(routeHash({ name: "resident", residentId: 3 })).toBe("#/residents/3");
  });
});

describe("time zones", () => {
  it("gives the home's local date and hour, not the browser's", () => {
    const instant = new Date("2026-03-02T20:30:00Z"); // 05:30 on the 3rd in Seoul
    expect(localDate(instant, "Asia/Seoul")).toBe("2026-03-03");
    expect(localHour(instant, "Asia/Seoul")).toBe(5);
    expect(localDate(instant, "America/New_York")).toBe("2026-03-02");
    expect(localHour(instant, "America/New_York")).toBe(15);
  });

  it("shifts dates across month ends", () => {
    expect(shiftDate("2026-03-01", -1)).toBe("2026-02-28");
    expect(shiftDate("2026-12-31", 1)).toBe("2027-01-01");
  });
});

describe("activity", () => {
  it("finds the latest hour with activity and its busiest room", () => {
    expect(lastActivity(HEATMAP)).toEqual({ roomId: 2, room: "Bathroom", date: "2026-03-03", hour: 9 });
    expect(lastActivity({ ...HEATMAP, rows: [] })).toBeNull();
  });

  it("says when the last activity was not today in the home", () => {
    const last = { roomId: 2, room: "Bedroom", date: "2026-03-01", hour: 22 };
    expect(lastSeenText(last, "2026-03-01")).toBe("Bedroom · 22:00–23:00");
    expect(lastSeenText(last, "2026-03-02")).toBe("Bedroom · yesterday 22:00–23:00");
    expect(lastSeenText(last, "2026-03-05")).toBe("Bedroom · 2026-03-01 22:00–23:00");
    setLocale("ko");
    try {
      // A room still called by its kind's standard name is named in the page's language; a name
      // the home gave a room is its own.
      expect(lastSeenText(last, "2026-03-02")).toBe("침실 · 어제 22:00–23:00");
      expect(lastSeenText({ ...last, room: "Grandma's room" }, "2026-03-02")).toBe(
        "Grandma's room · 어제 22:00–23:00",
      );
    } finally {
      setLocale("en");
    }
  });

  it("lights the rooms active in this hour or the one before", () => {
    expect([...activeRooms(HEATMAP, "2026-03-03", 10)].sort()).toEqual([1, 2]);
    expect([...activeRooms(HEATMAP, "2026-03-03", 8)]).toEqual([1]);
    expect([...activeRooms(HEATMAP, "2026-03-03", 12)]).toEqual([]);
  });

  it("sums days into the room x hour grid", () => {
    const grid = heatmapGrid(HEATMAP);
    expect(grid[0]?.hours[8]).toBe(4);
    expect(grid[0]?.hours[9]).toBe(3);
    expect(grid[1]?.hours[9]).toBe(5);
  });
});

describe("charts", () => {
  const day = (
    date: string,
    sleep: number | null,
    low: number | null,
    high: number | null,
  ): DailyTrendDay => ({
    date,
    has_data: sleep !== null,
    sleep_hours: sleep,
    night_bathroom_visits: 0,
    out_of_home_hours: 0,
    kitchen_active_hours: 3,
    activity_events: 100,
    trend: {
      sleep_hours: { baseline_mean: 7, band_low: low, band_high: high, baseline_days: 20, status: "usual" },
    },
  });

  it("scales to a round top and breaks the line at days without data", () => {
    const series = trendSeries(
      [day("a", 7.5, 6, 8.2), day("b", null, 6, 8.2), day("c", 6.8, 6, 8.2)],
      "sleep_hours",
    );
    expect(series.max).toBe(10);
    const path = linePath(
      series.values,
      (i) => i * 10,
      (v) => 100 - v * 10,
    );
    expect(path).toBe("M0.0,25.0M20.0,32.0");
    expect(
      bandPath(
        series.bandLow,
        series.bandHigh,
        (i) => i,
        (v) => v,
      ),
    ).toMatch(/^M0\.0,8\.2L1\.0,8\.2L2\.0,8\.2L2\.0,6\.0/);
  });

  it("rounds axis tops up", () => {
    expect([0, 0.7, 3, 7.5, 12, 45].map(niceCeil)).toEqual([1, 1, 5, 10, 20, 50]);
  });
});

describe("live payloads and preferences", () => {
  it("accepts a sensor_state of the backend's shape only (docs/realtime.md)", () => {
    const ok = {
      resident_id: 1,
      home_id: 4,
      rooms: [
        {
          room_id: 3,
          room: "Kitchen",
          sensors: [{ sensor_id: 2, kind: "motion", value: 1, ts: 1795438124082 }],
        },
        { room_id: null, room: null, sensors: [] },
      ],
      changed_room_ids: [3],
    };
    expect(parseSensorState({ ...ok, event_id: 12 })).toEqual(ok);
    // An ISO time is read as the same instant.
    const iso = {
      ...ok,
      rooms: [{ ...ok.rooms[0]!, sensors: [{ ...ok.rooms[0]!.sensors[0]!, ts: "2026-11-23T10:00:00Z" }] }],
    };
    expect(parseSensorState(iso)!.rooms[0]!.sensors[0]!.ts).toBe(Date.parse("2026-11-23T10:00:00Z"));
    const badValue = {
      ...ok,
      rooms: [
        { room_id: 3, room: "Kitchen", sensors: [{ sensor_id: 2, kind: "motion", value: "1", ts: "x" }] },
      ],
    };
    expect(parseSensorState(badValue)).toBeNull();
    // The shape this page guessed before the backend had the event: refused, not misread.
    expect(
      parseSensorState({ resident_id: 1, sensor_id: 2, room_id: 3, kind: "motion", value: 1, at: "x" }),
    ).toBeNull();
    expect(parseSensorState(null)).toBeNull();
    // Several residents at once (a page that began to follow them): each that parses.
    const other = { ...ok, resident_id: 8 };
    expect(parseSensorStates({ event_id: null, states: [ok, badValue, other] })).toEqual([ok, other]);
    expect(parseSensorStates({ event_id: null, states: "x" })).toBeNull();
  });

  it("keeps language, large text and mute, and survives a corrupt entry", () => {
    const storage = new MemoryStorage();
    expect(loadPrefs(storage, ["ko-KR"])).toEqual({ locale: "ko", largeType: false, muted: false });
    savePrefs(storage, { locale: "en", largeType: true, muted: true });
    expect(loadPrefs(storage, ["ko-KR"])).toEqual({ locale: "en", largeType: true, muted: true });
    storage.setItem("sst.prefs", "{not json");
    expect(loadPrefs(storage, [])).toEqual({ locale: "en", largeType: false, muted: false });
  });
});
