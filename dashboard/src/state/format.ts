// Words and times shown to carers; pure functions so they are tested and consistent.
import { getLocale, INTL_LOCALE, t } from "../i18n";
import { alertRoomLabel, alertTitle, serverWords } from "../i18n/server";
import type { Alert, DaySummaryText, Resident, Severity, SeverityCounts } from "../types";
import { SEVERITIES } from "../types";

/** Capitalised severity for badges and announcements. */
export function severityLabel(severity: Severity): string {
  return t(`severity.${severity}`);
}

/** Alert state as a carer reads it. */
export function stateLabel(state: Alert["state"]): string {
  return t(`state.${state}`);
}

function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Wall-clock time at the resident's home ("14:05", or "3 Mar, 14:05" when not today there),
 * with the zone's short name; falls back to the browser's zone when the zone is unknown.
 */
export function formatLocalTime(
  iso: string,
  timeZone: string | null | undefined,
  now: Date = new Date(),
  locale: string = INTL_LOCALE[getLocale()],
): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "unknown time";
  const zone = timeZone && isValidTimeZone(timeZone) ? timeZone : undefined;
  const zoneOption = zone ? { timeZone: zone } : {};
  const day = new Intl.DateTimeFormat(locale, {
    ...zoneOption,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const sameDay = day.format(date) === day.format(now);
  const formatter = new Intl.DateTimeFormat(locale, {
    ...zoneOption,
    ...(sameDay ? {} : { day: "numeric", month: "short" }),
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  return formatter.format(date);
}

/** "just now", "5 min ago", "2 h ago", "3 days ago": how long since an instant. */
export function formatAgo(iso: string, now: Date = new Date()): string {
  const seconds = Math.round((now.getTime() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return "";
  if (seconds < 60) return t("ago.now");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("ago.min", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("ago.hours", { n: hours });
  return t("ago.days", { n: Math.floor(hours / 24) });
}

/** "Seen once" / "Seen 4 times": how often the condition repeated while the alert was open. */
export function formatCount(count: number): string {
  return count <= 1 ? t("alert.seenOnce") : t("alert.seenTimes", { count });
}

/** Total of a resident's open alerts over all severities. */
export function totalOpen(counts: SeverityCounts): number {
  return SEVERITIES.reduce((sum, severity) => sum + (counts[severity] ?? 0), 0);
}

/** "1 critical, 2 high" or "No open alerts", for screen readers and compact lists. */
export function describeCounts(counts: SeverityCounts): string {
  const parts = SEVERITIES.filter((severity) => (counts[severity] ?? 0) > 0).map((severity) =>
    t(`counts.${severity}`, { n: counts[severity] }),
  );
  return parts.length > 0 ? parts.join(", ") : t("residents.noAlerts");
}

/** The sentence a screen reader announces when an alert arrives live. */
export function announceAlert(alert: Alert, resident: Resident | undefined): string {
  const who = resident?.full_name ?? t("announce.unknownResident", { id: alert.resident_id });
  const where = alert.room ? t("announce.in", { room: alertRoomLabel(alert) ?? alert.room }) : "";
  return t("announce.alert", {
    severity: severityLabel(alert.severity),
    resident: who,
    room: where,
    title: alertTitle(alert),
  });
}

/** "4 min", "1 h 5 min", "30 s": a duration for countdowns. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("duration.s", { n: s });
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return t("duration.min", { n: minutes });
  return t("duration.h", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

/** YYYY-MM-DD of an instant in a time zone (the home's local date). */
export function localDate(instant: Date, timeZone: string | null | undefined): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    ...(timeZone && isValidTimeZone(timeZone) ? { timeZone } : {}),
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(instant);
  return parts;
}

/** Hour of day (0-23) of an instant in a time zone. */
export function localHour(instant: Date, timeZone: string | null | undefined): number {
  const text = new Intl.DateTimeFormat("en-GB", {
    ...(timeZone && isValidTimeZone(timeZone) ? { timeZone } : {}),
    hour: "2-digit",
    hourCycle: "h23",
  }).format(instant);
  return Number.parseInt(text, 10);
}

/** The date `days` before a YYYY-MM-DD date. */
export function shiftDate(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A day's summary in the page's language, one sentence a line; the server's text when it sent
 * no structured lines (an older server). */
export function summaryWords(summary: DaySummaryText): string {
  const structured = summary.lines_text;
  if (!Array.isArray(structured) || structured.length !== summary.lines.length) return summary.text;
  const lines = structured.map((line, i) => serverWords(line, summary.lines[i] ?? ""));
  // The opening line, as the daily e-mail begins (absent from older servers).
  const opening = summary.opening === undefined ? null : serverWords(summary.opening_text, summary.opening);
  return (opening === null ? lines : [opening, ...lines]).join("\n");
}
