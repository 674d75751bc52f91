import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../src/i18n";
import { riskView } from "../src/state/risk";
import type { ResidentRisk, RiskTrend } from "../src/types";

function risk(score: number | null, trend: RiskTrend | null): ResidentRisk {
  return {
    resident_id: 1,
    score,
    at: score === null ? null : "2026-11-23T05:00:00Z",
    explanation: score === null ? null : "no movement since 09:10",
    trend,
    series: [],
  };
}

afterEach(() => setLocale("en"));

describe("riskView", () => {
  it("is null when there is no score, so the card keeps 'not available'", () => {
    expect(riskView(undefined)).toBeNull();
    expect(riskView(null)).toBeNull();
    expect(riskView(risk(null, null))).toBeNull();
  });

  it("shows the score with an arrow and says the trend in words", () => {
    expect(riskView(risk(62, "up"))).toEqual({
      score: "62/100",
      arrow: "↑",
      spoken: "risk 62 of 100, rising",
      trend: "up",
    });
    expect(riskView(risk(30, "down"))?.arrow).toBe("↓");
    expect(riskView(risk(30, "down"))?.spoken).toBe("risk 30 of 100, falling");
    expect(riskView(risk(30, "flat"))?.spoken).toBe("risk 30 of 100, steady");
  });

  it("has no arrow before there are two scores", () => {
    expect(riskView(risk(40, null))).toEqual({
      score: "40/100",
      arrow: "",
      spoken: "risk 40 of 100",
      trend: "none",
    });
  });

  it("speaks Korean", () => {
    setLocale("ko");
    expect(riskView(risk(62, "up"))?.spoken).toBe("위험 점수 100점 중 62점, 상승 중");
    expect(riskView(risk(62, "flat"))?.spoken).toBe("위험 점수 100점 중 62점, 변화 없음");
  });
});
