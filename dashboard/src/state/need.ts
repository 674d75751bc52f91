// Residents sorted by need: whoever has an unhandled critical alert comes first.
import type { Alert, Resident } from "../types";
import { SEVERITIES } from "../types";
import { severityRank } from "./alerts";

/** [unacknowledged critical, critical, high, medium, low, oldest unhandled alert] for a resident. */
function needKey(resident: Resident, alerts: readonly Alert[]): number[] {
  const own = alerts.filter((alert) => alert.resident_id === resident.id);
  const unhandledCritical = own.filter((a) => a.severity === "critical" && a.state === "open").length;
  const worstOpen = own
    .filter((a) => a.state === "open")
    .reduce((worst, a) => Math.min(worst, severityRank(a.severity)), SEVERITIES.length);
  return [
    -unhandledCritical,
    -(resident.open_alerts.critical ?? 0),
    worstOpen,
    ...SEVERITIES.slice(1).map((severity) => -(resident.open_alerts[severity] ?? 0)),
  ];
}

/** A new array, neediest first; ties by name so the order is stable. */
export function sortByNeed(residents: readonly Resident[], alerts: readonly Alert[]): Resident[] {
  const keys = new Map(residents.map((r) => [r.id, needKey(r, alerts)]));
  return [...residents].sort((a, b) => {
    const ka = keys.get(a.id) ?? [];
    const kb = keys.get(b.id) ?? [];
    for (let i = 0; i < ka.length; i++) {
      const diff = (ka[i] ?? 0) - (kb[i] ?? 0);
      if (diff !== 0) return diff;
    }
    return a.full_name.localeCompare(b.full_name) || a.id - b.id;
  });
}
