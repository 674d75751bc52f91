// One resident: today's checks, rooms lighting up, activity heatmap, daily trends, recent alerts,
// thresholds, policy.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { messageOf, type DashboardController } from "../controller";
import type { RobotStatusPayload, RuleCheckPayload, SensorStatePayload } from "../events";
import { t, type MessageKey } from "../i18n";
import { en } from "../i18n/en";
import { alertTitle, roomLabel } from "../i18n/server";
import { activeRooms, liveActiveRooms } from "../state/activity";
import { applyRobotStatus, robotStatusText } from "../state/robots";
import { applyRuleCheck, LiveChecks } from "../state/ruleChecks";
import { TREND_METRICS } from "../state/charts";
import { formatLocalTime, localDate, localHour, severityLabel, shiftDate, stateLabel } from "../state/format";
import type { DashboardState } from "../state/store";
import type {
  ActivityHeatmap,
  Alert,
  DailySummaries,
  Policy,
  ResidentDetail,
  Robot,
  Room,
  RuleChecks as RuleChecksData,
  Sensor,
  Threshold,
  VideoRecording,
} from "../types";
import { Heatmap } from "./charts/Heatmap";
import { TrendChart } from "./charts/TrendChart";
import { Recordings } from "./Recordings";
import { RuleChecks } from "./RuleChecks";
import { PolicyEditor, ThresholdEditor } from "./Settings";

interface Props {
  controller: DashboardController;
  state: DashboardState;
  residentId: number;
  now: Date;
}

interface Loaded {
  resident: ResidentDetail;
  rooms: Room[];
  heatmap: ActivityHeatmap | null;
  today: ActivityHeatmap | null;
  trends: DailySummaries | null;
  alerts: Alert[];
  thresholds: Threshold[] | null;
  policies: Policy[] | null;
  robots: Robot[];
  sensors: Sensor[];
  /** Latest hourly average of each temperature sensor, by sensor id. */
  temperatures: Map<number, number>;
  /** Emergency video recordings: members of staff only (the server refuses others). */
  recordings: VideoRecording[] | null;
  /** What each windowed rule last decided (null: could not be loaded). */
  checks: RuleChecksData | null;
}

async function load(controller: DashboardController, residentId: number): Promise<Loaded> {
  const api = controller.api;
  const devicesFrom = controller.devices.mark(); // robot status arriving meanwhile wins
  const resident = await api.resident(residentId);
  const zone = resident.timezone;
  const today = localDate(new Date(), zone);
  const optional = <T,>(p: Promise<T>): Promise<T | null> => p.catch(() => null);
  const staff = controller.store.get().session?.user.role === "staff";
  const [rooms, heatmap, trends, alerts, thresholds, policies, robots, sensors, recordings, checks] =
    await Promise.all([
      resident.home_id === null ? Promise.resolve([]) : optional(api.rooms(resident.home_id)),
      optional(api.heatmap(residentId, shiftDate(today, -6), today)),
      optional(api.dailySummaries(residentId, shiftDate(today, -27), today)),
      optional(api.residentAlerts(residentId, ["open", "acknowledged", "resolved"], 10)),
      optional(api.thresholds(residentId)),
      optional(api.residentPolicies(residentId)),
      resident.home_id === null ? Promise.resolve([]) : optional(api.robots(resident.home_id)),
      resident.home_id === null ? Promise.resolve([]) : optional(api.sensors(resident.home_id)),
      staff ? optional(api.videoRecordings(residentId)) : Promise.resolve(null),
      optional(api.ruleChecks(residentId)),
    ]);
  const since = new Date(Date.now() - 6 * 3600_000).toISOString();
  const temperatures = new Map<number, number>();
  await Promise.all(
    (sensors ?? [])
      .filter((sensor) => sensor.kind === "temperature")
      .map(async (sensor) => {
        const series = await optional(api.series(sensor.id, "1h", since));
        const last = series?.points.filter((p) => p.count > 0).at(-1);
        if (last) temperatures.set(sensor.id, last.avg);
      }),
  );
  const todayMap = heatmap ? { ...heatmap, rows: heatmap.rows.filter((row) => row.date === today) } : null;
  return {
    resident,
    rooms: rooms ?? [],
    heatmap,
    today: todayMap,
    trends,
    alerts: alerts ?? [],
    thresholds,
    policies,
    robots: controller.devices.robots(robots ?? [], devicesFrom),
    sensors: sensors ?? [],
    temperatures,
    recordings,
    checks,
  };
}

/** "Recent alerts" with a live alert on top (new, or changed: it moves up), ten at most. */
function withLiveAlert(alerts: Alert[], alert: Alert): Alert[] {
  return [alert, ...alerts.filter((a) => a.id !== alert.id)].slice(0, 10);
}

export function ResidentPage({ controller, state, residentId, now }: Props) {
  const [data, setData] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [liveRooms, setLiveRooms] = useState<Map<string, "alert" | "active">>(new Map());
  const [reloads, setReloads] = useState(0);
  const [sensorRooms, setSensorRooms] = useState<Set<number>>(new Set());
  // Checks that arrived live, the newest of each rule: laid over an answer read before them too.
  const liveChecks = useRef(new LiveChecks());
  // Alerts of this resident that arrived live while the page was being read (null: not reading).
  const alertsWhileLoading = useRef<Alert[] | null>(null);

  useEffect(() => {
    let current = true;
    setError(null);
    alertsWhileLoading.current = [];
    load(controller, residentId)
      .then((loaded) => {
        if (!current) return;
        // In the order they came: the last one is at least as new as the answer.
        const alerts = (alertsWhileLoading.current ?? []).reduce(withLiveAlert, loaded.alerts);
        alertsWhileLoading.current = null;
        setData({ ...loaded, alerts, checks: liveChecks.current.over(loaded.checks) });
      })
      .catch((e) => {
        if (!current) return;
        alertsWhileLoading.current = null;
        setError(
          e instanceof ApiError && (e.status === 404 || e.status === 403)
            ? t("error.notFound")
            : messageOf(e),
        );
      });
    return () => {
      current = false;
    };
  }, [controller, residentId, reloads]);

  useEffect(() => {
    // Live: an alert lights its room at once; sensor state lights the rooms someone is in.
    const listener = ({ kind, payload }: { kind: string; payload: unknown }) => {
      if (kind === "alert") {
        const alert = payload as Alert;
        if (alert.resident_id !== residentId) return;
        if (alert.room)
          setLiveRooms((m) => new Map(m).set(alert.room!, alert.state === "resolved" ? "active" : "alert"));
        alertsWhileLoading.current?.push(alert);
        setData((d) => (d ? { ...d, alerts: withLiveAlert(d.alerts, alert) } : d));
      } else if (kind === "sensor_state") {
        const state = payload as SensorStatePayload;
        if (state.resident_id !== residentId) return;
        // The state is whole (every sensor's latest value): it replaces the rooms it lit before.
        setSensorRooms(liveActiveRooms(state, new Date()));
      } else if (kind === "rule_check") {
        const check = payload as RuleCheckPayload;
        if (check.resident_id !== residentId) return;
        liveChecks.current.note(check);
        setData((d) => (d?.checks ? { ...d, checks: applyRuleCheck(d.checks, check) } : d));
      } else if (kind === "robot_status") {
        const status = payload as RobotStatusPayload;
        setData((d) => (d ? { ...d, robots: applyRobotStatus(d.robots, status) } : d));
      } else if (kind === "resync") {
        // The reconnection could not replay what was missed: read the page again.
        setReloads((n) => n + 1);
      }
    };
    controller.liveListeners.add(listener);
    return () => void controller.liveListeners.delete(listener);
  }, [controller, residentId, data?.rooms]);

  if (error) {
    return (
      <main class="staff__main staff__main--single">
        <p class="message message--error" role="alert">
          {error} <a href="#/">{t("nav.back")}</a>{" "}
          <button type="button" class="button button--quiet" onClick={() => setReloads(reloads + 1)}>
            {t("error.tryAgain")}
          </button>
        </p>
      </main>
    );
  }
  if (data === null)
    return (
      <main class="staff__main staff__main--single">
        <p class="empty">{t("common.loading")}</p>
      </main>
    );

  const zone = data.resident.timezone;
  const today = localDate(now, zone);
  const active = data.today ? activeRooms(data.today, today, localHour(now, zone)) : new Set<number>();
  const openRooms = new Set(
    state.alerts.filter((a) => a.resident_id === residentId && a.room).map((a) => a.room as string),
  );
  const user = state.session?.user;
  // The server decides too; the page only spares others a form they cannot send.
  const canEdit = user?.role === "admin" || (user?.role === "staff" && user.is_charge_nurse === true);

  return (
    <main class="resident-page" aria-labelledby="resident-title">
      <p>
        <a href="#/">← {t("nav.back")}</a>
      </p>
      <header class="resident-page__head">
        <h1 id="resident-title">{data.resident.full_name}</h1>
        <p class="resident-page__meta">
          {t("resident.home")}: {data.resident.home_label ?? "—"} · {t("resident.timezone")}: {zone ?? "—"} ·{" "}
          {t("residents.risk")}: <span class="resident__risk">{t("residents.riskNone")}</span>
        </p>
      </header>

      <RuleChecks checks={data.checks} zone={zone} now={now} />

      <section class="panel" aria-labelledby="rooms-title">
        <h2 id="rooms-title">{t("resident.rooms")}</h2>
        <ul class="rooms" data-testid="room-grid">
          {data.rooms.map((room) => {
            const live = liveRooms.get(room.name);
            const status =
              openRooms.has(room.name) || live === "alert"
                ? "alert"
                : active.has(room.id) || sensorRooms.has(room.id) || live === "active"
                  ? "active"
                  : "quiet";
            return (
              <li
                key={room.id}
                class={`room room--${status}`}
                data-room={room.name}
                data-live={sensorRooms.has(room.id) ? "active" : undefined}
              >
                <span class="room__name">{roomLabel(room.name, room.kind)}</span>
                <span class="room__state">
                  {status === "alert"
                    ? t("severity.critical")
                    : status === "active"
                      ? t("resident.roomActive")
                      : t("resident.roomQuiet")}
                </span>
                <span class="room__sensors">
                  {data.sensors
                    .filter((sensor) => sensor.room_id === room.id)
                    .map((sensor) => {
                      const temperature = data.temperatures.get(sensor.id);
                      const key = `sensor.${sensor.kind}`;
                      return (
                        <span key={sensor.id} class="chip" data-kind={sensor.kind}>
                          {key in en ? t(key as MessageKey) : sensor.kind}
                          {temperature !== undefined ? ` ${temperature.toFixed(1)} °C` : ""}
                        </span>
                      );
                    })}
                </span>
              </li>
            );
          })}
        </ul>
        <p class="hint">{t("resident.roomsHint")}</p>
      </section>

      <section class="panel" aria-labelledby="heatmap-title">
        <h2 id="heatmap-title">{t("resident.heatmap")}</h2>
        {data.heatmap ? (
          <Heatmap heatmap={data.heatmap} />
        ) : (
          <p class="empty">{t("resident.heatmapEmpty")}</p>
        )}
      </section>

      <section class="panel" aria-labelledby="trends-title">
        <h2 id="trends-title">{t("resident.trends")}</h2>
        {data.trends && data.trends.days.some((d) => d.has_data) ? (
          <div class="trends">
            {TREND_METRICS.map((metric) => (
              <TrendChart key={metric} days={data.trends!.days} metric={metric} />
            ))}
          </div>
        ) : (
          <p class="empty">{t("resident.trendsEmpty")}</p>
        )}
      </section>

      <section class="panel" aria-labelledby="recent-title">
        <h2 id="recent-title" tabIndex={-1}>
          {t("resident.recentAlerts")}
        </h2>
        {data.alerts.length === 0 ? (
          <p class="empty">{t("alerts.none")}</p>
        ) : (
          <ul class="recent">
            {data.alerts.map((alert) => (
              <li
                key={alert.id}
                id={`recent-alert-${alert.id}`}
                tabIndex={-1}
                class={`recent__item recent--${alert.severity}`}
              >
                <span class={`badge badge--${alert.severity}`}>{severityLabel(alert.severity)}</span>{" "}
                <strong>{alertTitle(alert)}</strong> · {stateLabel(alert.state)} ·{" "}
                <time dateTime={alert.opened_at}>{formatLocalTime(alert.opened_at, zone, now)}</time>
              </li>
            ))}
          </ul>
        )}
      </section>

      {data.robots.length > 0 && (
        <section class="panel" aria-labelledby="robots-title">
          <h2 id="robots-title">{t("resident.robots")}</h2>
          <ul>
            {data.robots.map((robot) => (
              <li key={robot.id}>
                {robot.model} ({robot.serial}): {robotStatusText(robot)}
              </li>
            ))}
          </ul>
        </section>
      )}

      {data.recordings !== null && (
        <Recordings
          controller={controller}
          residentId={residentId}
          recordings={data.recordings}
          zone={zone}
          now={now}
        />
      )}

      <div class="settings-grid">
        <section class="panel" aria-labelledby="thresholds-title">
          <h2 id="thresholds-title">{t("resident.thresholds")}</h2>
          {data.thresholds ? (
            <ThresholdEditor
              controller={controller}
              residentId={residentId}
              thresholds={data.thresholds}
              canEdit={canEdit}
            />
          ) : (
            <p class="empty">—</p>
          )}
        </section>
        <section class="panel" aria-labelledby="policies-title">
          <h2 id="policies-title">{t("resident.policies")}</h2>
          {data.policies ? (
            <PolicyEditor
              controller={controller}
              residentId={residentId}
              policies={data.policies}
              canEdit={canEdit}
            />
          ) : (
            <p class="empty">—</p>
          )}
        </section>
      </div>
    </main>
  );
}
