// The windowed rules' latest verdicts as the resident page says them: which need a look
// (an alert, a rule that cannot tell and why), which are fine, in the home's time.
import type { RuleCheckPayload } from "../events";
import { t, textOr } from "../i18n";
import { serverWords } from "../i18n/server";
import type { RuleCheck, RuleChecks } from "../types";
import { formatLocalTime } from "./format";

export type CheckStatus = "alert" | "unknown" | "notYet" | "fine";

export interface CheckLine {
  rule: string;
  status: CheckStatus;
  /** The rule in words: "Not up in the morning". */
  name: string;
  /** The verdict in words: "Cannot tell". */
  verdict: string;
  /** Why it cannot tell, in the page's language ("" when there is nothing to add). */
  reason: string;
  /** "since 06:10 GMT+9", in the home's time, for what needs a look ("" otherwise). */
  since: string;
  alertId: number | null;
}

// Those that need a look first; fine ones last, quietly.
const ORDER: readonly CheckStatus[] = ["alert", "unknown", "notYet", "fine"];

function statusOf(check: RuleCheck): CheckStatus {
  return check.verdict === null ? "notYet" : check.verdict;
}

/** One check in words. */
export function checkLine(check: RuleCheck, zone: string | null | undefined, now: Date): CheckLine {
  const status = statusOf(check);
  return {
    rule: check.rule,
    status,
    name: textOr(`rule.${check.rule}.name`, check.rule),
    verdict: t(`checks.${status}`),
    reason: status === "unknown" ? serverWords(check.reason_text, check.reason ?? "") : "",
    // A fine check stays quiet: the verdict alone.
    since:
      check.decided_at === null || status === "fine"
        ? ""
        : t("checks.since", { time: formatLocalTime(check.decided_at, zone, now) }),
    alertId: status === "alert" ? check.alert_id : null,
  };
}

/** Every check in words, those that need a look first (the server's order within each). */
export function checkLines(
  checks: readonly RuleCheck[],
  zone: string | null | undefined,
  now: Date,
): CheckLine[] {
  const lines = checks.map((check) => checkLine(check, zone, now));
  return ORDER.flatMap((status) => lines.filter((line) => line.status === status));
}

function later(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  return Date.parse(b) >= Date.parse(a) ? b : a;
}

/**
 * A live `rule_check` laid over the checks the page holds: it replaces its rule's check unless
 * that one was decided later (a late or replayed event never undoes a newer check); at the same
 * instant the one that came last wins.
 */
export function applyRuleCheck(checks: RuleChecks, live: RuleCheckPayload): RuleChecks {
  if (live.resident_id !== checks.resident_id) return checks;
  const held = checks.checks.find((check) => check.rule === live.rule);
  if (held?.decided_at && Date.parse(held.decided_at) > Date.parse(live.decided_at)) return checks;
  const check: RuleCheck = {
    rule: live.rule,
    verdict: live.verdict,
    reason: live.reason,
    reason_text: live.reason_text ?? null,
    decided_at: live.decided_at,
    alert_id: live.alert_id,
  };
  return {
    ...checks,
    checked_at: later(checks.checked_at, live.checked_at ?? live.decided_at),
    checks: held ? checks.checks.map((c) => (c.rule === live.rule ? check : c)) : [...checks.checks, check],
  };
}
