import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../src/i18n";
import { describeEscalation } from "../src/state/escalation";
import { formatDuration } from "../src/state/format";
import type { Escalation } from "../src/types";

const NOW = new Date("2026-03-03T08:00:00Z");

function escalation(overrides: Partial<Escalation> = {}): Escalation {
  return {
    policy_source: "default",
    round: 1,
    steps: [
      { target: "assigned_staff", delay_s: 0 },
      { target: "guardians", delay_s: 240 },
    ],
    next_step: { index: 1, target: "guardians", who: "the guardians" },
    next_escalation_at: "2026-03-03T08:04:00Z",
    remind_at: null,
    reminders_sent: 0,
    ...overrides,
  };
}

afterEach(() => setLocale("en"));

describe("escalation countdown", () => {
  it("says who is told next and in how long", () => {
    expect(describeEscalation({ state: "open" }, escalation(), NOW)).toBe(
      "The guardians will be notified in 4 min",
    );
    const later = new Date("2026-03-03T08:03:30Z");
    expect(describeEscalation({ state: "open" }, escalation(), later)).toBe(
      "The guardians will be notified in 30 s",
    );
  });

  it("rounds minutes up so it never claims more time than is left is gone", () => {
    const at = new Date("2026-03-03T08:00:50Z");
    expect(describeEscalation({ state: "open" }, escalation(), at)).toBe(
      "The guardians will be notified in 4 min",
    );
  });

  it("says it is happening once the time has come, and when every step is taken", () => {
    const due = new Date("2026-03-03T08:04:01Z");
    expect(describeEscalation({ state: "open" }, escalation(), due)).toBe(
      "the guardians are being notified now",
    );
    expect(
      describeEscalation({ state: "open" }, escalation({ next_step: null, next_escalation_at: null }), NOW),
    ).toBe("All escalation steps have been taken");
  });

  it("says nothing for resolved alerts or before the details arrive", () => {
    expect(describeEscalation({ state: "resolved" }, escalation(), NOW)).toBeNull();
    expect(describeEscalation({ state: "open" }, undefined, NOW)).toBeNull();
    expect(describeEscalation({ state: "open" }, null, NOW)).toBe("Escalation starts within a few seconds");
  });

  it("shows the next reminder once acknowledged", () => {
    const acked = escalation({ remind_at: "2026-03-03T08:05:00Z" });
    expect(describeEscalation({ state: "acknowledged" }, acked, NOW)).toBe(
      "Reminder to whoever acknowledged in 5 min",
    );
    expect(describeEscalation({ state: "acknowledged" }, escalation(), NOW)).toBeNull();
  });

  it("speaks Korean too", () => {
    setLocale("ko");
    expect(describeEscalation({ state: "open" }, escalation(), NOW)).toBe("4분 후 보호자에게 알립니다");
  });

  it("formats durations", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(59)).toBe("59 s");
    expect(formatDuration(61)).toBe("2 min");
    expect(formatDuration(3600)).toBe("1 h 0 min");
    expect(formatDuration(3725)).toBe("1 h 3 min");
  });
});
