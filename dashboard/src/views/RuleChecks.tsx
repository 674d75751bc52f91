// "Today's checks" on the resident page: what each windowed rule last decided. A rule that cannot
// tell (no data, the hub away) says so with its reason, so that a morning SST could not judge
// does not look like a morning where all was well.
import { t } from "../i18n";
import { formatLocalTime } from "../state/format";
import { checkLines } from "../state/ruleChecks";
import type { RuleChecks as RuleChecksData } from "../types";

interface Props {
  /** null: the checks could not be loaded. */
  checks: RuleChecksData | null;
  zone: string | null | undefined;
  now: Date;
}

/** Bring the alert's line in "Recent alerts" into view and focus, if it is listed there. */
function showAlert(alertId: number): void {
  const target =
    document.getElementById(`recent-alert-${alertId}`) ?? document.getElementById("recent-title");
  target?.scrollIntoView({ block: "center" });
  target?.focus();
}

export function RuleChecks({ checks, zone, now }: Props) {
  const lines = checks ? checkLines(checks.checks, zone, now) : [];
  return (
    <section class="panel" aria-labelledby="checks-title" data-testid="rule-checks">
      <h2 id="checks-title">{t("resident.checks")}</h2>
      {checks === null ? (
        <p class="empty">{t("checks.unavailable")}</p>
      ) : checks.checked_at === null ? (
        <p class="empty">{t("checks.never")}</p>
      ) : (
        <>
          <ul class="rule-checks">
            {lines.map((line) => (
              <li
                key={line.rule}
                class={`rule-check rule-check--${line.status}`}
                data-rule={line.rule}
                data-status={line.status}
              >
                <span class="rule-check__mark" aria-hidden="true">
                  {line.status === "fine" ? "✓" : line.status === "alert" ? "!" : "?"}
                </span>{" "}
                <span class="rule-check__rule">{line.name}</span>:{" "}
                <strong class="rule-check__verdict">{line.verdict}</strong>
                {line.reason && <span class="rule-check__reason"> · {line.reason}</span>}
                {line.since && <span class="rule-check__since hint"> · {line.since}</span>}
                {line.alertId !== null && (
                  <>
                    {" "}
                    <button
                      type="button"
                      class="button button--quiet"
                      aria-label={t("checks.seeAlertOf", { rule: line.name })}
                      onClick={() => showAlert(line.alertId!)}
                    >
                      {t("checks.seeAlert")}
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
          <p class="hint rule-checks__checked">
            {t("checks.checkedAt", { time: formatLocalTime(checks.checked_at, zone, now) })}
          </p>
        </>
      )}
    </section>
  );
}
