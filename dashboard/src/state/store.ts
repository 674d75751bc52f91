// The dashboard's whole state and the pure reducer that changes it.
import type { Session } from "../session";
import type { ConnectionStatus } from "../socket";
import type { Locale } from "../i18n";
import type { Alert, AlertDetail, Hub, Resident, ResidentRisk, Robot } from "../types";
import { laterActivity, liveLastActivity, type LastActivity } from "./activity";
import { announceAlert } from "./format";
import { isUrgent, sortAlerts, upsertAlert } from "./alerts";
import type { HubPresencePayload, RobotStatusPayload, SensorStatePayload } from "../events";
import { applyRobotStatus } from "./robots";

export interface Announcement {
  /** Increases with each announcement so the same words are read again. */
  seq: number;
  text: string;
  /** Critical alerts interrupt the screen reader; everything else waits its turn. */
  assertive: boolean;
}

/** What the overview shows beside the counts: where the resident was last active, devices. */
export interface ResidentExtras {
  lastActivity: LastActivity | null | undefined;
  robots: Robot[] | null | undefined;
  hubs: Hub[] | null | undefined;
  risk: ResidentRisk | null | undefined;
}

/** Per-browser choices, kept in localStorage. */
export interface UiPrefs {
  locale: Locale;
  largeType: boolean;
  muted: boolean;
}

export interface DashboardState {
  session: Session | null;
  /** Shown on the login form, e.g. why the user was signed out. */
  notice: string | null;
  residents: Resident[];
  alerts: Alert[];
  loading: boolean;
  loadError: string | null;
  connection: ConnectionStatus;
  /** Urgent alerts that arrived live and nobody has acknowledged yet: shown highlighted. */
  freshAlertIds: number[];
  announcement: Announcement | null;
  /** Alert details (escalation state, timeline) by alert id, loaded for active alerts. */
  details: Record<number, AlertDetail>;
  extras: Record<number, ResidentExtras>;
  prefs: UiPrefs;
}

export const DEFAULT_PREFS: UiPrefs = { locale: "en", largeType: false, muted: false };

export type Action =
  | { type: "signedIn"; session: Session }
  | { type: "signedOut"; notice?: string }
  | { type: "loading" }
  | { type: "loaded"; residents: Resident[]; alerts: Alert[] }
  | { type: "residentsLoaded"; residents: Resident[] }
  | { type: "loadFailed"; message: string }
  | { type: "alertReceived"; alert: Alert }
  | { type: "alertChanged"; alert: Alert }
  | { type: "connection"; status: ConnectionStatus }
  | { type: "sessionRefreshed"; session: Session }
  | { type: "detailLoaded"; detail: AlertDetail }
  | { type: "extrasLoaded"; residentId: number; extras: Partial<ResidentExtras> }
  | { type: "prefs"; prefs: Partial<UiPrefs> }
  | { type: "robotStatus"; status: RobotStatusPayload }
  | { type: "hubPresence"; presence: HubPresencePayload }
  | { type: "sensorState"; state: SensorStatePayload };

/** State of a page that nobody has signed in to. */
export function initialState(session: Session | null = null, prefs: UiPrefs = DEFAULT_PREFS): DashboardState {
  return {
    session,
    notice: null,
    residents: [],
    alerts: [],
    loading: session !== null,
    loadError: null,
    connection: "connecting",
    freshAlertIds: [],
    announcement: null,
    details: {},
    extras: {},
    prefs,
  };
}

function announce(state: DashboardState, text: string, assertive: boolean): Announcement {
  return { seq: (state.announcement?.seq ?? 0) + 1, text, assertive };
}

/** Apply one action; never mutates its input. */
export function reduce(state: DashboardState, action: Action): DashboardState {
  switch (action.type) {
    case "signedIn":
      return { ...initialState(action.session, state.prefs) };
    case "signedOut":
      return { ...initialState(null, state.prefs), notice: action.notice ?? null };
    case "sessionRefreshed":
      return { ...state, session: action.session };
    case "detailLoaded":
      return { ...state, details: { ...state.details, [action.detail.id]: action.detail } };
    case "extrasLoaded": {
      const before = state.extras[action.residentId] ?? {
        lastActivity: undefined,
        robots: undefined,
        hubs: undefined,
        risk: undefined,
      };
      const extras = { ...before, ...action.extras };
      // A reading that arrived live while the heatmap was read is newer than the heatmap.
      if (before.lastActivity && action.extras.lastActivity !== undefined)
        extras.lastActivity =
          action.extras.lastActivity === null
            ? before.lastActivity
            : laterActivity(before.lastActivity, action.extras.lastActivity);
      return { ...state, extras: { ...state.extras, [action.residentId]: extras } };
    }
    case "prefs":
      return { ...state, prefs: { ...state.prefs, ...action.prefs } };
    case "loading":
      return { ...state, loading: true, loadError: null };
    case "loaded": {
      const alerts = sortAlerts(action.alerts);
      const ids = new Set(alerts.filter(isUrgent).map((alert) => alert.id));
      return {
        ...state,
        residents: action.residents,
        alerts,
        loading: false,
        loadError: null,
        freshAlertIds: state.freshAlertIds.filter((id) => ids.has(id)),
      };
    }
    case "residentsLoaded":
      return { ...state, residents: action.residents };
    case "loadFailed":
      return { ...state, loading: false, loadError: action.message };
    case "alertReceived": {
      const before = state.alerts.find((alert) => alert.id === action.alert.id);
      const alerts = upsertAlert(state.alerts, action.alert);
      const becameUrgent = isUrgent(action.alert) && (before === undefined || !isUrgent(before));
      const others = state.freshAlertIds.filter((id) => id !== action.alert.id);
      const keepFresh =
        isUrgent(action.alert) && (becameUrgent || others.length < state.freshAlertIds.length);
      const freshAlertIds = keepFresh ? [action.alert.id, ...others] : others;
      // Only a new alert (or one that newly became urgent) is announced; a repeat that only
      // raises the count would otherwise talk over the carer all night.
      const shouldAnnounce = (before === undefined && action.alert.state === "open") || becameUrgent;
      const resident = state.residents.find((r) => r.id === action.alert.resident_id);
      return {
        ...state,
        alerts,
        freshAlertIds,
        announcement: shouldAnnounce
          ? announce(state, announceAlert(action.alert, resident), isUrgent(action.alert))
          : state.announcement,
      };
    }
    case "alertChanged":
      return {
        ...state,
        alerts: upsertAlert(state.alerts, action.alert),
        freshAlertIds: isUrgent(action.alert)
          ? state.freshAlertIds
          : state.freshAlertIds.filter((id) => id !== action.alert.id),
      };
    case "connection":
      return { ...state, connection: action.status };
    case "robotStatus": {
      let changed = false;
      const extras = { ...state.extras };
      for (const [id, before] of Object.entries(state.extras)) {
        if (!before.robots) continue;
        const robots = applyRobotStatus(before.robots, action.status);
        if (robots !== before.robots) {
          extras[Number(id)] = { ...before, robots };
          changed = true;
        }
      }
      return changed ? { ...state, extras } : state;
    }
    case "sensorState": {
      // "Last seen" on the overview moves with the live readings, not only with the heatmap.
      const id = action.state.resident_id;
      const before = state.extras[id];
      if (!before || before.lastActivity === undefined) return state; // not loaded yet
      const zone = state.residents.find((r) => r.id === id)?.timezone ?? null;
      const live = liveLastActivity(action.state, zone);
      if (live === null) return state;
      const lastActivity = laterActivity(before.lastActivity, live);
      const same =
        before.lastActivity !== null &&
        lastActivity.roomId === before.lastActivity.roomId &&
        lastActivity.date === before.lastActivity.date &&
        lastActivity.hour === before.lastActivity.hour;
      return same ? state : { ...state, extras: { ...state.extras, [id]: { ...before, lastActivity } } };
    }
    case "hubPresence": {
      let changed = false;
      const extras = { ...state.extras };
      for (const [id, before] of Object.entries(state.extras)) {
        if (!before.hubs?.some((hub) => hub.id === action.presence.hub_id)) continue;
        const { online, last_seen_at } = action.presence;
        const hubs = before.hubs.map((hub) =>
          hub.id === action.presence.hub_id
            ? { ...hub, online, last_seen_at: last_seen_at ?? hub.last_seen_at }
            : hub,
        );
        extras[Number(id)] = { ...before, hubs };
        changed = true;
      }
      return changed ? { ...state, extras } : state;
    }
  }
}

export type Listener = (state: DashboardState) => void;

/** A minimal observable store around `reduce`. */
export class Store {
  private state: DashboardState;
  private readonly listeners = new Set<Listener>();

  constructor(initial: DashboardState) {
    this.state = initial;
  }

  /** Current state snapshot. */
  get(): DashboardState {
    return this.state;
  }

  /** Apply an action and notify subscribers if anything changed. */
  dispatch(action: Action): void {
    const next = reduce(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }

  /** Call `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
