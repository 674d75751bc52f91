// The family view on a phone: today in plain words, today's checks (all well, or SST cannot see the
// home, or staff were alerted), open alerts and what staff are doing, recent days, and how to be
// reached. Only the guardian's own resident(s), as the server allows.
import { useEffect, useState } from "preact/hooks";
import { messageOf, type DashboardController } from "../controller";
import { t } from "../i18n";
import { alertExplanation, alertTitle } from "../i18n/server";
import { subscribePush } from "../push";
import {
  formatAgo,
  formatLocalTime,
  localDate,
  severityLabel,
  shiftDate,
  summaryWords,
} from "../state/format";
import type { Route } from "../router";
import type { DashboardState } from "../state/store";
import type {
  Alert,
  Channel,
  DailySummaries,
  DailyTrendDay,
  DaySummaryText,
  Preferences,
  Resident,
} from "../types";
import { ConnectionBanner, ConnectionIndicator } from "./Connection";
import { FormMessage, Refused, useSubmit } from "./forms";
import { useNow } from "./hooks";
import { useRuleChecks } from "./liveChecks";
import { RuleChecks } from "./RuleChecks";
import { PrefControls } from "./Topbar";

interface Props {
  controller: DashboardController;
  state: DashboardState;
  route?: Route;
}

function dayInWords(day: DailyTrendDay): string {
  if (!day.has_data) return "—";
  const parts: string[] = [];
  if (day.sleep_hours !== null)
    parts.push(`${t("metric.sleep_hours")}: ${Math.round(day.sleep_hours * 10) / 10}`);
  if (day.night_bathroom_visits !== null)
    parts.push(`${t("metric.night_bathroom_visits")}: ${day.night_bathroom_visits}`);
  if (day.out_of_home_hours !== null)
    parts.push(`${t("metric.out_of_home_hours")}: ${Math.round(day.out_of_home_hours * 10) / 10}`);
  if (day.kitchen_active_hours !== null)
    parts.push(`${t("metric.kitchen_active_hours")}: ${day.kitchen_active_hours}`);
  return parts.join(" · ");
}

function ResidentSummary({
  controller,
  resident,
  alerts,
  now,
}: {
  controller: DashboardController;
  resident: Resident;
  alerts: Alert[];
  now: Date;
}) {
  const [today, setToday] = useState<DaySummaryText | null | undefined>(undefined);
  const [history, setHistory] = useState<DailySummaries | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const checks = useRuleChecks(controller, resident.id);

  useEffect(() => {
    let current = true;
    const day = localDate(new Date(), resident.timezone);
    controller.api
      .daySummary(resident.id)
      .then((s) => current && setToday(s))
      .catch((e) => {
        if (!current) return;
        setToday(null);
        setError(messageOf(e));
      });
    controller.api
      .dailySummaries(resident.id, shiftDate(day, -20), shiftDate(day, -1))
      .then((s) => current && setHistory(s))
      .catch(() => current && setHistory(null));
    return () => {
      current = false;
    };
  }, [controller, resident.id, resident.timezone, alerts.length]);

  const own = alerts.filter((a) => a.resident_id === resident.id);
  return (
    <>
      <section class="panel guardian__today" aria-labelledby={`today-${resident.id}`}>
        <h2 id={`today-${resident.id}`}>
          {resident.full_name} · {t("guardian.today")}
        </h2>
        {error && (
          <p class="message message--error" role="alert">
            {error}
          </p>
        )}
        {today === undefined ? (
          <p class="empty">{t("common.loading")}</p>
        ) : today === null ? null : (
          <>
            <p class="guardian__summary" data-testid="today-summary">
              {summaryWords(today)}
            </p>
            <p class="hint">{today.complete ? t("guardian.complete") : t("guardian.partial")}</p>
          </>
        )}
      </section>
      <RuleChecks
        checks={checks}
        zone={resident.timezone}
        now={now}
        words="family"
        name={resident.full_name}
        titleId={`checks-${resident.id}`}
      />
      <section class="panel" aria-labelledby={`open-${resident.id}`}>
        <h2 id={`open-${resident.id}`}>{t("guardian.openAlerts")}</h2>
        {own.length === 0 ? (
          <p class="empty">{t("guardian.noAlerts")}</p>
        ) : (
          <ul class="guardian__alerts">
            {own.map((alert) => (
              <li key={alert.id} class={`guardian__alert alert--${alert.severity}`} data-alert-id={alert.id}>
                <span class={`badge badge--${alert.severity}`}>{severityLabel(alert.severity)}</span>{" "}
                <strong>{alertTitle(alert)}</strong>
                <p>{alertExplanation(alert)}</p>
                <p class="guardian__doing">
                  {alert.state === "acknowledged" ? t("guardian.staffAck") : t("guardian.staffOpen")}{" "}
                  <span class="hint">
                    {formatLocalTime(alert.opened_at, resident.timezone, now)} (
                    {formatAgo(alert.opened_at, now)})
                  </span>
                </p>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="panel" aria-labelledby={`history-${resident.id}`}>
        <h2 id={`history-${resident.id}`}>{t("guardian.history")}</h2>
        {history === undefined ? (
          <p class="empty">{t("common.loading")}</p>
        ) : history === null || !history.days.some((d) => d.has_data) ? (
          <p class="empty">{t("guardian.noHistory")}</p>
        ) : (
          <ol class="guardian__history">
            {[...history.days]
              .reverse()
              .filter((d) => d.has_data)
              .map((day) => (
                <li key={day.date}>
                  <strong>{day.date}</strong> {dayInWords(day)}
                </li>
              ))}
          </ol>
        )}
      </section>
    </>
  );
}

/** Client-side check of the preferences form; null when it may be sent. */
export function checkPreferences(channels: readonly Channel[], webhookUrl: string): string | null {
  if (channels.includes("webhook") && !/^https:\/\/[^\s/]+\.[^\s]+$/.test(webhookUrl.trim()))
    return t("guardian.badUrl");
  return null;
}

function PreferencesForm({ controller }: { controller: DashboardController }) {
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const [daily, setDaily] = useState(true);
  const form = useSubmit("guardian.saved");

  useEffect(() => {
    controller.api
      .preferences()
      .then((p) => {
        setPrefs(p);
        setChannels(p.channels);
        setUrl(p.webhook_url ?? "");
        setDaily(p.daily_summary);
      })
      .catch((e) => form.refuse(messageOf(e)));
  }, [controller]);

  function toggle(channel: Channel, on: boolean) {
    setChannels(
      on ? [...channels.filter((c) => c !== channel), channel] : channels.filter((c) => c !== channel),
    );
  }

  async function save(event: Event) {
    event.preventDefault();
    const problem = checkPreferences(channels, url);
    if (problem) return form.refuse(problem);
    await form.send(async () => {
      const saved = await controller.api.setPreferences({
        channels: channels.includes("in_app") ? channels : ["in_app", ...channels],
        webhook_url: channels.includes("webhook") ? url.trim() : null,
        ...(secret ? { webhook_secret: secret } : {}),
        daily_summary: daily,
      });
      setPrefs(saved);
      setSecret("");
    });
  }

  async function enablePush() {
    await form.send(
      async () => {
        const key = await controller.api.vapidKey();
        const outcome = await subscribePush(key.public_key);
        if (!outcome.ok) {
          const reasons = {
            unsupported: "guardian.pushUnsupported",
            unavailable: "guardian.pushUnavailable",
            denied: "guardian.pushDenied",
          } as const;
          throw new Refused(t(reasons[outcome.reason]));
        }
        const next: Channel[] = [...new Set<Channel>([...channels, "in_app", "push"])];
        const saved = await controller.api.setPreferences({
          channels: next,
          push_subscription: outcome.subscription,
          webhook_url: next.includes("webhook") ? url.trim() : null,
          daily_summary: daily,
        });
        setPrefs(saved);
        setChannels(saved.channels);
      },
      undefined,
      "guardian.pushOn",
    );
  }

  return (
    <section class="panel" aria-labelledby="prefs-title">
      <h2 id="prefs-title">{t("guardian.prefs")}</h2>
      {prefs === null && form.outcome === null ? (
        <p class="empty">{t("common.loading")}</p>
      ) : (
        <form onSubmit={save} noValidate class="guardian__prefs">
          <label class="check">
            <input
              type="checkbox"
              checked={channels.includes("email")}
              onChange={(e) => toggle("email", (e.currentTarget as HTMLInputElement).checked)}
            />{" "}
            {t("guardian.email")}
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={channels.includes("push")}
              onChange={(e) => toggle("push", (e.currentTarget as HTMLInputElement).checked)}
            />{" "}
            {t("guardian.push")}
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={channels.includes("webhook")}
              onChange={(e) => toggle("webhook", (e.currentTarget as HTMLInputElement).checked)}
            />{" "}
            {t("guardian.webhook")}
          </label>
          {channels.includes("webhook") && (
            <>
              <label for="webhook-url">{t("guardian.webhookUrl")}</label>
              <input
                id="webhook-url"
                type="url"
                value={url}
                onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)}
              />
              <label for="webhook-secret">{t("guardian.webhookSecret")}</label>
              <input
                id="webhook-secret"
                type="password"
                autocomplete="off"
                value={secret}
                onInput={(e) => setSecret((e.currentTarget as HTMLInputElement).value)}
              />
            </>
          )}
          <label class="check">
            <input
              type="checkbox"
              checked={daily}
              onChange={(e) => setDaily((e.currentTarget as HTMLInputElement).checked)}
            />{" "}
            {t("guardian.daily")}
          </label>
          <FormMessage outcome={form.outcome} />
          <div class="alert__actions">
            <button type="submit" class="button button--primary" disabled={form.busy}>
              {t("guardian.save")}
            </button>
            <button type="button" class="button" disabled={form.busy} onClick={() => void enablePush()}>
              {t("guardian.enablePush")}
            </button>
          </div>
          {prefs?.push_endpoint && <p class="hint">{t("guardian.pushOn")}</p>}
        </form>
      )}
    </section>
  );
}

export function GuardianView({ controller, state, route = { name: "overview" } }: Props) {
  const now = useNow(30_000);
  // A guardian has no staff pages: any other resident's address (or admin) is refused here,
  // and the server refuses the data anyway.
  const refused =
    route.name === "admin" ||
    route.name === "notFound" ||
    (route.name === "resident" && !state.loading && !state.residents.some((r) => r.id === route.residentId));
  return (
    <div class="guardian">
      <header class="topbar topbar--guardian">
        <span class="topbar__brand">{t("app.guardianTitle")}</span>
        <ConnectionIndicator status={state.connection} />
        <PrefControls controller={controller} state={state} sound={false} />
        <div class="topbar__user">
          <span class="topbar__name">{state.session?.user.full_name}</span>
          <button type="button" class="button button--quiet" onClick={() => controller.logout()}>
            {t("session.signOut")}
          </button>
        </div>
      </header>
      <ConnectionBanner status={state.connection} />
      {state.loadError && (
        <div class="message message--error page-message" role="alert">
          {state.loadError}{" "}
          <button type="button" class="button button--quiet" onClick={() => void controller.reload()}>
            {t("error.tryAgain")}
          </button>
        </div>
      )}
      <main class="guardian__main">
        {refused ? (
          <p class="message message--error" role="alert" data-testid="guardian-refused">
            {t("error.notFound")} <a href="#/">{t("nav.back")}</a>
          </p>
        ) : state.loading && state.residents.length === 0 ? (
          <p class="empty">{t("common.loading")}</p>
        ) : state.residents.length === 0 ? (
          <p class="empty">{t("guardian.noResident")}</p>
        ) : (
          state.residents.map((resident) => (
            <ResidentSummary
              key={resident.id}
              controller={controller}
              resident={resident}
              alerts={state.alerts}
              now={now}
            />
          ))
        )}
        <PreferencesForm controller={controller} />
      </main>
    </div>
  );
}
