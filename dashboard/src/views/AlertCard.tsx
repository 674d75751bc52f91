// One alert: why it was raised, where and when, its escalation, and the actions on it.
import { useEffect, useRef, useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import { en } from "../i18n/en";
import { t, textOr, type MessageKey } from "../i18n";
import { alertExplanation, alertRoomLabel, alertTitle, serverWords } from "../i18n/server";

/** A timeline action in the page's language (an action this page does not know: as sent). */
function actionLabel(action: string): string {
  const key = `action.${action}`;
  return key in en ? t(key as MessageKey) : action;
}
import { deliveryLine, timelineDelivery } from "../state/deliveries";
import { describeEscalation } from "../state/escalation";
import { formatAgo, formatCount, formatLocalTime, severityLabel, stateLabel } from "../state/format";
import type { Alert, AlertDetail, Resident } from "../types";
import { EmergencyPanel } from "./EmergencyPanel";

/** Whom an escalation step told, in the page's language (the server's words are English). */
function toldWho(details: Record<string, unknown>): string {
  const who = String(details.who);
  const target = details.target;
  return t("timeline.told", { who: typeof target === "string" ? textOr(`target.${target}`, who) : who });
}

interface Props {
  alert: Alert;
  resident: Resident | undefined;
  fresh: boolean;
  controller: DashboardController;
  now: Date;
  detail?: AlertDetail | undefined;
}

export function AlertCard({ alert, resident, fresh, controller, now, detail }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [resolving, setResolving] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const [emergency, setEmergency] = useState(false);
  const cardRef = useRef<HTMLElement>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const titleId = `alert-${alert.id}-title`;

  useEffect(() => {
    if (resolving) noteRef.current?.focus();
  }, [resolving]);

  async function run(action: () => Promise<string | null>, onDone?: () => void) {
    setBusy(true);
    setError(null);
    const message = await action();
    setBusy(false);
    if (message === null) onDone?.();
    else setError(message);
  }

  function acknowledge() {
    // The card moves down the list once handled; keep keyboard focus on it.
    void run(
      () => controller.acknowledge(alert.id),
      () => requestAnimationFrame(() => cardRef.current?.focus()),
    );
  }

  // The form is noValidate: this message (announced, same look everywhere) replaces the browser's bubble.
  function resolve(event: Event) {
    event.preventDefault();
    const text = (noteRef.current?.value ?? "").trim();
    if (text === "") {
      setError(t("alert.noteMissing"));
      noteRef.current?.focus();
      return;
    }
    // A resolved alert leaves the list; send focus to the list heading rather than the page top.
    void run(
      () => controller.resolve(alert.id, text),
      () => document.getElementById("alerts-title")?.focus(),
    );
  }

  const classes = ["alert", `alert--${alert.severity}`, `alert--${alert.state}`, fresh ? "alert--fresh" : ""];
  const zone = resident?.timezone;
  const escalation = describeEscalation(alert, detail?.escalation, now);
  return (
    <article
      class={classes.join(" ")}
      aria-labelledby={titleId}
      tabIndex={-1}
      ref={cardRef}
      data-alert-id={alert.id}
    >
      <div class="alert__badges">
        <span class={`badge badge--${alert.severity}`}>{severityLabel(alert.severity)}</span>
        {fresh && <span class="badge badge--new">{t("alert.new")}</span>}
        <span class="alert__state">{stateLabel(alert.state)}</span>
      </div>
      <h3 id={titleId} class="alert__title">
        {alertTitle(alert)}
      </h3>
      <p class="alert__meta">
        <a class="alert__resident" href={`#/residents/${alert.resident_id}`}>
          {resident?.full_name ?? `#${alert.resident_id}`}
        </a>
        {alert.room && <span>{alertRoomLabel(alert)}</span>}
        <span>
          <time
            dateTime={alert.last_seen_at}
            title={t("alert.firstSeen", { time: formatLocalTime(alert.opened_at, zone, now) })}
          >
            {formatLocalTime(alert.last_seen_at, zone, now)}
          </time>{" "}
          ({formatAgo(alert.last_seen_at, now)})
        </span>
        <span>{formatCount(alert.count)}</span>
      </p>
      <p class="alert__explanation">{alertExplanation(alert)}</p>
      {escalation && (
        <p class="alert__escalation" data-testid="escalation">
          {escalation}
        </p>
      )}
      {error && (
        <p class="message message--error" role="alert">
          {error}
        </p>
      )}
      {resolving ? (
        <form class="alert__resolve" onSubmit={resolve} noValidate>
          <label for={`note-${alert.id}`}>{t("alert.note")}</label>
          <textarea id={`note-${alert.id}`} ref={noteRef} rows={2} required maxLength={2000} />
          <div class="alert__actions">
            <button type="submit" class="button button--primary" disabled={busy}>
              {t("alert.resolve")}
            </button>
            <button
              type="button"
              class="button button--quiet"
              onClick={() => setResolving(false)}
              disabled={busy}
            >
              {t("alert.cancel")}
            </button>
          </div>
        </form>
      ) : (
        <div class="alert__actions">
          {alert.state === "open" && (
            <button
              type="button"
              class="button button--primary"
              onClick={acknowledge}
              disabled={busy}
              aria-describedby={titleId}
            >
              {t("alert.acknowledge")}
            </button>
          )}
          <button
            type="button"
            class="button"
            onClick={() => setResolving(true)}
            disabled={busy}
            aria-describedby={titleId}
          >
            {t("alert.resolveOpen")}
          </button>
          <button
            type="button"
            class="button button--quiet"
            aria-expanded={expanded}
            aria-controls={`alert-${alert.id}-timeline`}
            onClick={() => {
              setExpanded(!expanded);
              if (!expanded) void controller.loadDetail(alert.id);
            }}
          >
            {expanded ? t("alert.hideDetails") : t("alert.details")}
          </button>
          {(alert.severity === "critical" || alert.severity === "high") && (
            <button type="button" class="button button--quiet" onClick={() => setEmergency(true)}>
              {t("alert.emergency")}
            </button>
          )}
        </div>
      )}
      {expanded && (
        <div id={`alert-${alert.id}-timeline`} class="alert__timeline">
          <h4>{t("alert.timeline")}</h4>
          {detail === undefined ? (
            <p>{t("common.loading")}</p>
          ) : (
            <ol>
              {detail.timeline.map((event, index) => (
                <li key={index}>
                  <time dateTime={event.at}>{formatLocalTime(event.at, zone, now)}</time>{" "}
                  <strong>{actionLabel(event.action)}</strong>
                  {event.actor_name ? ` · ${event.actor_name}` : ""}
                  {typeof event.details?.note === "string" ? ` · “${event.details.note}”` : ""}
                  {typeof event.details?.who === "string" ? ` · ${toldWho(event.details)}` : ""}
                  {typeof event.details?.reason === "string"
                    ? ` · ${serverWords(event.details.reason_text, event.details.reason)}`
                    : ""}
                  {event.details && timelineDelivery(event.details) !== null
                    ? ` · ${timelineDelivery(event.details)}`
                    : ""}
                </li>
              ))}
            </ol>
          )}
          {detail?.deliveries !== undefined && (
            <>
              <h4>{t("delivery.heading")}</h4>
              {detail.deliveries.length === 0 ? (
                <p>{t("delivery.none")}</p>
              ) : (
                <ul class="alert__deliveries">
                  {detail.deliveries.map((delivery) => (
                    <li key={delivery.id} class={`delivery delivery--${delivery.outcome}`}>
                      {deliveryLine(delivery, zone, now)}
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
      )}
      {emergency && (
        <EmergencyPanel
          alert={alert}
          resident={resident}
          controller={controller}
          onClose={() => setEmergency(false)}
        />
      )}
    </article>
  );
}
