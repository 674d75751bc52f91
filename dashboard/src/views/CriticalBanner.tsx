// The unmistakable strip across the top while a critical alert is unacknowledged.
import { t } from "../i18n";
import { alertRoomLabel, alertTitle } from "../i18n/server";
import { isUrgent } from "../state/alerts";
import type { DashboardState } from "../state/store";

export function CriticalBanner({ state }: { state: DashboardState }) {
  const urgent = state.alerts.filter(isUrgent);
  const first = urgent[0];
  if (first === undefined) return null;
  const resident = state.residents.find((r) => r.id === first.resident_id);
  const text =
    urgent.length === 1
      ? t("critical.bannerOne", {
          title: alertTitle(first),
          resident: resident?.full_name ?? `#${first.resident_id}`,
          room: first.room ? ` · ${alertRoomLabel(first)}` : "",
        })
      : t("critical.banner", { count: urgent.length });
  return (
    <div class="banner banner--critical" data-testid="critical-banner">
      <span class="banner__icon" aria-hidden="true">
        !
      </span>
      <strong>{text}</strong>
      <a
        class="button button--critical"
        href="#/"
        onClick={() =>
          requestAnimationFrame(() =>
            document.querySelector<HTMLElement>(`[data-alert-id="${first.id}"]`)?.focus(),
          )
        }
      >
        {t("critical.show")}
      </a>
    </div>
  );
}
