// "Today's checks": what each windowed rule last decided. A rule that cannot tell (no data, the
// hub away) says so with its reason, so that a morning SST could not judge does not look like a
// morning where all was well. The resident page says it in the rules' names; the guardian view
// in a family's words, the day as a whole first.
import { t, type MessageKey } from "../i18n";
import { formatLocalTime } from "../state/format";
import { checkLines, dayOutlook, type CheckWords } from "../state/ruleChecks";
import type { RuleChecks as RuleChecksData } from "../types";

interface Props {
  /** null: the checks could not be loaded; undefined: they are being read. */
  checks: RuleChecksData | null | undefined;
  zone: string | null | undefined;
  now: Date;
  /** Whose words (the guardian view: "family"). */
  words?: CheckWords;
  /** The resident's name, for the family's sentence on the day. */
  name?: string;
  /** The heading's id: unique on a page that shows several residents' checks. */
  titleId?: string;
}

/** Bring the alert's line in "Recent alerts" into view and focus, if it is listed there. */
function showAlert(alertId: number): void {
  const target =
    document.getElementById(`recent-alert-${alertId}`) ?? document.getElementById("recent-title");
  target?.scrollIntoView({ block: "center" });
  target?.focus();
}

/** The family's one sentence on the day, before the lines (announced when it changes). */
function Outlook({ checks, name }: { checks: RuleChecksData; name: string }) {
  const outlook = dayOutlook(checks);
  return (
    <p
      class={`rule-checks__outlook rule-checks__outlook--${outlook}`}
      role="status"
      data-outlook={outlook}
      data-testid="checks-outlook"
    >
      {t(`family.outlook.${outlook}` as MessageKey, { name })}
    </p>
  );
}

export function RuleChecks({
  checks,
  zone,
  now,
  words = "staff",
  name = "",
  titleId = "checks-title",
}: Props) {
  const family = words === "family";
  const lines = checks ? checkLines(checks.checks, zone, now, words) : [];
  return (
    <section
      class={`panel${family ? " rule-checks--family" : ""}`}
      aria-labelledby={titleId}
      data-testid="rule-checks"
      data-resident={checks?.resident_id}
    >
      <h2 id={titleId}>{t("resident.checks")}</h2>
      {checks === undefined ? (
        <p class="empty">{t("common.loading")}</p>
      ) : checks === null ? (
        <p class="empty">{t("checks.unavailable")}</p>
      ) : checks.checked_at === null && !family ? (
        <p class="empty">{t("checks.never")}</p>
      ) : (
        <>
          {family && <Outlook checks={checks} name={name} />}
          {checks.checked_at !== null && (
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
                    {/* A family's alerts are listed under "Open alerts", with what staff do. */}
                    {line.alertId !== null && !family && (
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
        </>
      )}
    </section>
  );
}
