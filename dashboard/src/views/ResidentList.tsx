// Residents the user may see, neediest first: counts, last activity, risk, hub and robot.
import { t } from "../i18n";
import { roomLabel } from "../i18n/server";
import type { LastActivity } from "../state/activity";
import { describeCounts, formatAgo, localDate, shiftDate, totalOpen } from "../state/format";
import { sortByNeed } from "../state/need";
import { riskView, riskWhy } from "../state/risk";
import type { DashboardState, ResidentExtras } from "../state/store";
import type { Resident } from "../types";
import { SEVERITIES } from "../types";

interface Props {
  residents: Resident[];
  loading: boolean;
  state?: DashboardState;
  now?: Date;
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? "")
    .join("");
}

function hubText(extras: ResidentExtras | undefined, now: Date): { text: string; ok: boolean | null } {
  const hubs = extras?.hubs;
  if (hubs === undefined) return { text: "…", ok: null };
  if (hubs === null || hubs.length === 0) return { text: "—", ok: null };
  const online = hubs.every((hub) => hub.online);
  const last = hubs.map((hub) => hub.last_seen_at).find((at) => at !== null);
  return {
    text: online
      ? t("residents.hubOnline")
      : `${t("residents.hubOffline")}${last ? ` · ${formatAgo(last, now)}` : ""}`,
    ok: online,
  };
}

/** "Kitchen · 14:00–15:00", with "yesterday" or the date when it was not today in the home. */
export function lastSeenText(last: LastActivity, today: string): string {
  const hours = `${String(last.hour).padStart(2, "0")}:00–${String(last.hour + 1).padStart(2, "0")}:00`;
  const room = roomLabel(last.room);
  if (last.date === today) return t("residents.lastSeenToday", { room, hours });
  if (last.date === shiftDate(today, -1)) return t("residents.lastSeenYesterday", { room, hours });
  return t("residents.lastSeenOn", { room, date: last.date, hours });
}

function robotText(extras: ResidentExtras | undefined): string {
  const robots = extras?.robots;
  if (robots === undefined) return "…";
  if (robots === null) return "—";
  if (robots.length === 0) return t("residents.noRobot");
  return robots
    .map((robot) =>
      [robot.state ?? "unknown", robot.battery_pct === null ? null : `${Math.round(robot.battery_pct)}%`]
        .filter(Boolean)
        .join(" · "),
    )
    .join(", ");
}

export function ResidentList({ residents, loading, state, now = new Date() }: Props) {
  const sorted = sortByNeed(residents, state?.alerts ?? []);
  return (
    <section class="panel residents" aria-labelledby="residents-title">
      <h2 id="residents-title">
        {t("residents.title")} <span class="panel__count">{residents.length}</span>
      </h2>
      {loading && residents.length === 0 ? (
        <p class="empty">{t("residents.loading")}</p>
      ) : residents.length === 0 ? (
        <p class="empty">{t("residents.none")}</p>
      ) : (
        <ul class="residents__list">
          {sorted.map((resident) => {
            const extras = state?.extras[resident.id];
            const last = extras?.lastActivity;
            const hub = hubText(extras, now);
            const risk = riskView(extras?.risk);
            const critical = (resident.open_alerts.critical ?? 0) > 0;
            return (
              <li
                key={resident.id}
                class={`resident${critical ? " resident--critical" : ""}`}
                data-resident-id={resident.id}
              >
                <span class="resident__photo" aria-hidden="true">
                  {initials(resident.full_name)}
                </span>
                <div class="resident__body">
                  <a class="resident__name" href={`#/residents/${resident.id}`}>
                    {resident.full_name}
                  </a>
                  <span
                    class="resident__counts"
                    role="group"
                    aria-label={describeCounts(resident.open_alerts)}
                  >
                    {totalOpen(resident.open_alerts) === 0 ? (
                      <span class="resident__quiet" aria-hidden="true">
                        {t("residents.noAlerts")}
                      </span>
                    ) : (
                      SEVERITIES.filter((s) => (resident.open_alerts[s] ?? 0) > 0).map((severity) => (
                        <span key={severity} class={`count count--${severity}`} aria-hidden="true">
                          {t(`counts.${severity}`, { n: resident.open_alerts[severity] })}
                        </span>
                      ))
                    )}
                  </span>
                  <dl class="resident__facts">
                    <div>
                      <dt>{t("residents.lastSeen")}</dt>
                      <dd data-testid="last-activity">
                        {last === undefined
                          ? "…"
                          : last === null
                            ? t("residents.lastSeenNone")
                            : lastSeenText(last, localDate(now, resident.timezone))}
                      </dd>
                    </div>
                    <div>
                      <dt>{t("residents.risk")}</dt>
                      <dd class="resident__risk" data-testid="risk">
                        {risk === null ? (
                          t("residents.riskNone")
                        ) : (
                          <span class={`risk risk--${risk.trend}`} title={riskWhy(extras?.risk)}>
                            <span aria-hidden="true">
                              {risk.score}
                              {risk.arrow ? ` ${risk.arrow}` : ""}
                            </span>
                            <span class="visually-hidden">{risk.spoken}</span>
                          </span>
                        )}
                      </dd>
                    </div>
                    <div>
                      <dt>{t("residents.hub")}</dt>
                      <dd class={hub.ok === false ? "text-bad" : hub.ok ? "text-ok" : ""}>{hub.text}</dd>
                    </div>
                    <div>
                      <dt>{t("residents.robot")}</dt>
                      <dd>{robotText(extras)}</dd>
                    </div>
                  </dl>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
