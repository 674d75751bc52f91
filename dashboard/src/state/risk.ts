// The routine risk score as the overview shows it: the number, an arrow, words for readers.
import { t } from "../i18n";
import { serverWords } from "../i18n/server";
import type { ResidentRisk, RiskTrend } from "../types";

const ARROWS: Record<RiskTrend, string> = { up: "↑", down: "↓", flat: "→" };

export interface RiskView {
  /** "62/100", shown. */
  score: string;
  /** The arrow, hidden from screen readers ("" when there is no trend yet). */
  arrow: string;
  /** What a screen reader says instead: "risk 62 of 100, rising". */
  spoken: string;
  /** Class modifier for the trend's colour. */
  trend: RiskTrend | "none";
}

/** The view of a resident's risk, or null when there is no score to show ("not available"). */
export function riskView(risk: ResidentRisk | null | undefined): RiskView | null {
  if (risk === null || risk === undefined || risk.score === null) return null;
  const score = t("risk.score", { score: risk.score });
  if (risk.trend === null) {
    return { score, arrow: "", spoken: t("risk.spokenNoTrend", { score: risk.score }), trend: "none" };
  }
  return {
    score,
    arrow: ARROWS[risk.trend],
    spoken: t("risk.spoken", { score: risk.score, trend: t(`risk.trend.${risk.trend}`) }),
    trend: risk.trend,
  };
}

/** Why the score is what it is, in the page's language (undefined when there is no score). */
export function riskWhy(risk: ResidentRisk | null | undefined): string | undefined {
  if (risk === null || risk === undefined || risk.explanation === null) return undefined;
  return serverWords(risk.explanation_text, risk.explanation);
}
