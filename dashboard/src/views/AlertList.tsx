// Alerts sorted by need, most urgent first.
import type { DashboardController } from "../controller";
import { t } from "../i18n";
import { isUrgent } from "../state/alerts";
import type { DashboardState } from "../state/store";
import { AlertCard } from "./AlertCard";

interface Props {
  controller: DashboardController;
  state: DashboardState;
  now: Date;
}

export function AlertList({ controller, state, now }: Props) {
  const residents = new Map(state.residents.map((resident) => [resident.id, resident]));
  const openCount = state.alerts.filter((alert) => alert.state === "open").length;
  const urgentCount = state.alerts.filter(isUrgent).length;
  return (
    <section class="panel alerts" aria-labelledby="alerts-title">
      <h2 id="alerts-title" tabIndex={-1}>
        {t("alerts.title")} <span class="panel__count">{openCount}</span>
        {urgentCount > 0 && <span class="panel__urgent">{t("counts.critical", { n: urgentCount })}</span>}
      </h2>
      {state.loading && state.alerts.length === 0 ? (
        <p class="empty">{t("alerts.loading")}</p>
      ) : state.alerts.length === 0 ? (
        <p class="empty">{t("alerts.none")}</p>
      ) : (
        <ol class="alerts__list">
          {state.alerts.map((alert) => (
            <li key={alert.id}>
              <AlertCard
                alert={alert}
                resident={residents.get(alert.resident_id)}
                fresh={state.freshAlertIds.includes(alert.id)}
                detail={state.details[alert.id]}
                controller={controller}
                now={now}
              />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
