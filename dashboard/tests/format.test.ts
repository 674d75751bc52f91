import { describe, expect, it } from "vitest";
import {
  announceAlert,
  describeCounts,
  formatAgo,
  formatCount,
  formatLocalTime,
  severityLabel,
  stateLabel,
  totalOpen,
} from "../src/state/format";
import { makeAlert, makeResident } from "./fixtures";

describe("formatLocalTime", () => {
  const now = new Date("2026-07-01T12:00:00Z");

  it("shows the time at the resident's home, not UTC", () => {
    // 23:30 UTC on 30 June is 09:30 on 1 July in Sydney (AEST, UTC+10).
    const text = formatLocalTime("2026-06-30T23:30:00Z", "Australia/Sydney", now);
    expect(text).toContain("09:30");
    expect(text).not.toContain("Jun");
  });

  it("adds the date when the instant is not today at the home", () => {
    const text = formatLocalTime("2026-06-29T08:15:00Z", "Europe/London", now);
    expect(text).toContain("29 Jun");
    expect(text).toContain("09:15");
  });

  it("names the time zone so a carer in another zone is not misled", () => {
    expect(formatLocalTime("2026-07-01T08:15:00Z", "Europe/London", now)).toMatch(/BST|GMT\+1|UTC\+1/);
  });

  it("falls back to the browser's zone for an unknown zone instead of throwing", () => {
    expect(() => formatLocalTime("2026-07-01T08:15:00Z", "Mars/Olympus", now)).not.toThrow();
    expect(formatLocalTime("2026-07-01T08:15:00Z", "Mars/Olympus", now)).toMatch(/\d\d:\d\d/);
  });

  it("says so when the time is not a time", () => {
    expect(formatLocalTime("not-a-date", "Europe/London", now)).toBe("unknown time");
  });
});

describe("formatAgo", () => {
  const now = new Date("2026-07-01T12:00:00Z");
  it.each([
    ["2026-07-01T11:59:30Z", "just now"],
    ["2026-07-01T11:55:00Z", "5 min ago"],
    ["2026-07-01T09:00:00Z", "3 h ago"],
    ["2026-06-28T12:00:00Z", "3 days ago"],
  ])("%s is %s", (iso, expected) => {
    expect(formatAgo(iso, now)).toBe(expected);
  });
});

describe("words", () => {
  it("counts repeats in plain words", () => {
    expect(formatCount(1)).toBe("Seen once");
    expect(formatCount(4)).toBe("Seen 4 times");
  });

  it("labels severity and state", () => {
    expect(severityLabel("critical")).toBe("Critical");
    expect(stateLabel("open")).toBe("Needs attention");
    expect(stateLabel("acknowledged")).toBe("Being handled");
  });

  it("describes open-alert counts, most severe first", () => {
    expect(describeCounts({ critical: 1, high: 0, medium: 2, low: 0 })).toBe("1 critical, 2 medium");
    expect(describeCounts({ critical: 0, high: 0, medium: 0, low: 0 })).toBe("No open alerts");
    expect(totalOpen({ critical: 1, high: 2, medium: 3, low: 4 })).toBe(10);
  });

  it("announces who, where and what", () => {
    const alert = makeAlert({ severity: "critical", title: "Possible fall", room: "Bathroom" });
    expect(announceAlert(alert, makeResident({ full_name: "Ada Byrne" }))).toBe(
      "Critical alert for Ada Byrne in Bathroom: Possible fall.",
    );
    expect(announceAlert({ ...alert, room: null, resident_id: 9 }, undefined)).toBe(
      "Critical alert for resident 9: Possible fall.",
    );
  });
});
