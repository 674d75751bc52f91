// The escalation line of an alert: who is told next and when, from GET /alerts/{id}.
import { t } from "../i18n";
import type { Alert, Escalation } from "../types";
import { formatDuration } from "./format";

/**
 * "the guardians will be notified in 4 min" for an open alert with a next step; for an
 * acknowledged one, when the next reminder goes out; null when there is nothing to say.
 */
export function describeEscalation(
  alert: Pick<Alert, "state">,
  escalation: Escalation | null | undefined,
  now: Date,
): string | null {
  if (alert.state === "resolved") return null;
  if (escalation === undefined) return null;
  if (escalation === null) return alert.state === "open" ? t("alert.escalationPending") : null;
  if (alert.state === "acknowledged") {
    if (escalation.remind_at === null) return null;
    return t("alert.reminderIn", { time: formatDuration(secondsUntil(escalation.remind_at, now)) });
  }
  if (escalation.next_step === null || escalation.next_escalation_at === null)
    return t("alert.escalationDone");
  const who = t(`target.${escalation.next_step.target}`);
  const seconds = secondsUntil(escalation.next_escalation_at, now);
  if (seconds <= 0) return t("alert.escalationDue", { who });
  return t("alert.escalationIn", { who: capitalise(who), time: formatDuration(seconds) });
}

function secondsUntil(iso: string, now: Date): number {
  return (Date.parse(iso) - now.getTime()) / 1000;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
