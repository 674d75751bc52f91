// Ordering and merging of alert lists: the most urgent work is always at the top.
import type { Alert, AlertState, Severity } from "../types";

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const STATE_RANK: Record<AlertState, number> = { open: 0, acknowledged: 1, resolved: 2 };

/** States the staff view lists; resolved alerts drop out of it. */
export const ACTIVE_STATES: readonly AlertState[] = ["open", "acknowledged"];

/** 0 for critical up to 3 for low. */
export function severityRank(severity: Severity): number {
  return SEVERITY_RANK[severity];
}

/**
 * Order by need: unhandled (open) before acknowledged before resolved, then by severity,
 * then the most recently seen first, then the newest id, so the order is total and stable.
 */
export function compareAlerts(a: Alert, b: Alert): number {
  return (
    STATE_RANK[a.state] - STATE_RANK[b.state] ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    Date.parse(b.last_seen_at) - Date.parse(a.last_seen_at) ||
    b.id - a.id
  );
}

/** A new sorted array; the input is left untouched. */
export function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort(compareAlerts);
}

/**
 * Merge one alert (from Socket.IO or an action's answer) into a sorted list: replace it by id,
 * drop it if its state is no longer shown, and keep the list sorted.
 */
export function upsertAlert(
  alerts: readonly Alert[],
  alert: Alert,
  shownStates: readonly AlertState[] = ACTIVE_STATES,
): Alert[] {
  const rest = alerts.filter((existing) => existing.id !== alert.id);
  if (!shownStates.includes(alert.state)) return rest;
  return sortAlerts([...rest, alert]);
}

/** True when the alert is the kind that must interrupt: critical and not yet acknowledged. */
export function isUrgent(alert: Alert): boolean {
  return alert.severity === "critical" && alert.state === "open";
}
