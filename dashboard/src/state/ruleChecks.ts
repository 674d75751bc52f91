// The windowed rules' latest verdicts in words: which need a look (an alert, a rule that cannot
// tell and why), which are fine, in the home's time. Staff read the rules' own names ("Not up in
// the morning: Cannot tell"); a family reads what was checked ("Up in the morning: Can't tell
// right now") and, first, one sentence on the whole day.
import type { RuleCheckPayload } from "../events";
import { t, textOr, type MessageKey } from "../i18n";
import { isServerText, serverWords } from "../i18n/server";
import type { RuleCheck, RuleChecks } from "../types";
import { formatLocalTime } from "./format";

export type CheckStatus = "alert" | "unknown" | "notYet" | "fine";

/** Whose words: care staff (the rules' names) or a family member (what was looked at). */
export type CheckWords = "staff" | "family";

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

/** Why a rule cannot tell, for a family: their own words for the reasons the page knows. */
function familyReason(check: RuleCheck): string {
  const text = check.reason_text;
  const own = isServerText(text) ? `family.${text.key}` : null;
  return own ? textOr(own, serverWords(text, check.reason ?? "")) : (check.reason ?? "");
}

/** One check in words. */
export function checkLine(
  check: RuleCheck,
  zone: string | null | undefined,
  now: Date,
  words: CheckWords = "staff",
): CheckLine {
  const status = statusOf(check);
  const family = words === "family";
  const name = textOr(`rule.${check.rule}.name`, check.rule);
  return {
    rule: check.rule,
    status,
    name: family ? textOr(`family.rule.${check.rule}`, name) : name,
    verdict: t(`${family ? "family.checks" : "checks"}.${status}` as MessageKey),
    reason:
      status !== "unknown"
        ? ""
        : family
          ? familyReason(check)
          : serverWords(check.reason_text, check.reason ?? ""),
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
  words: CheckWords = "staff",
): CheckLine[] {
  const lines = checks.map((check) => checkLine(check, zone, now, words));
  return ORDER.flatMap((status) => lines.filter((line) => line.status === status));
}

/** How the day looks as a whole: the worst of the checks ("none": never judged). */
export type DayOutlook = "alert" | "unknown" | "fine" | "fineSoFar" | "none";

/**
 * The one sentence a family reads first. An alert outweighs everything; a rule that cannot tell
 * outweighs fine ones, so that "SST cannot see the home" is never read as "all is well"; fine
 * while some rule has not judged yet is only "so far".
 */
export function dayOutlook(checks: RuleChecks): DayOutlook {
  if (checks.checked_at === null || checks.checks.every((c) => c.verdict === null)) return "none";
  const verdicts = new Set(checks.checks.map((c) => c.verdict));
  if (verdicts.has("alert")) return "alert";
  if (verdicts.has("unknown")) return "unknown";
  return verdicts.has(null) ? "fineSoFar" : "fine";
}

/**
 * The newest live check of each rule a page has seen. Laid over an answer that was on its way
 * when they came (or one read again after a reconnection), they keep it from undoing them.
 */
export class LiveChecks {
  private readonly newest = new Map<string, RuleCheckPayload>();

  /** Remember a live check unless an already seen one of its rule was decided later. */
  note(check: RuleCheckPayload): void {
    const key = `${check.resident_id}:${check.rule}`;
    const held = this.newest.get(key);
    if (!held || Date.parse(held.decided_at) <= Date.parse(check.decided_at)) this.newest.set(key, check);
  }

  /** `checks` with every remembered live check of its resident laid over it. */
  over(checks: RuleChecks): RuleChecks;
  over(checks: RuleChecks | null): RuleChecks | null;
  over(checks: RuleChecks | null): RuleChecks | null {
    return checks && [...this.newest.values()].reduce(applyRuleCheck, checks);
  }
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
