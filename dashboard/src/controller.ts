// Wires the API client, the live connection and the store: every user action goes through here.
import { ApiClient, ApiError } from "./api";
import type { Alarm } from "./alarm";
import { getLocale, setLocale, t, type Locale } from "./i18n";
import { loadPrefs, savePrefs } from "./prefs";
import { clearSession, loadSession, saveSession, sessionFromLogin } from "./session";
import { connectLive, type LiveConnection } from "./socket";
import { lastActivity, type LastActivity } from "./state/activity";
import { ACTIVE_STATES, isUrgent } from "./state/alerts";
import { announceAlert, localDate, shiftDate } from "./state/format";
import { initialState, Store, type UiPrefs } from "./state/store";
import type { Socket } from "socket.io-client";
import { LiveDevices } from "./state/liveDevices";
import type { RobotCommandBody } from "./state/robots";
import type { Alert, Resident, RobotCommand } from "./types";

// Residents' counts come from the server; after a burst of live alerts, reload them once.
const RESIDENT_REFRESH_MS = 1000;
// Refresh the access token this long before it runs out.
const REFRESH_AHEAD_MS = 60_000;
// Last activity comes from the analytics API (hourly); hubs and robots are also live, so this
// re-reading only catches what the feed cannot say (the hour rolled over).
const ACTIVITY_REFRESH_MS = 5 * 60_000;
// After an escalation step is due, read the alert again this much later (the scheduler's tick).
const ESCALATION_SETTLE_MS = 2500;

export interface ControllerOptions {
  storage: Storage;
  /** Where language, large type and mute are kept (localStorage in the browser). */
  prefsStorage?: Storage;
  api?: ApiClient;
  connect?: typeof connectLive;
  alarm?: Alarm;
}

/** The dashboard's application logic, independent of how it is rendered. */
export class DashboardController {
  readonly store: Store;
  readonly api: ApiClient;
  private readonly storage: Storage;
  private readonly prefsStorage: Storage | undefined;
  private readonly connect: typeof connectLive;
  private readonly alarm: Alarm | undefined;
  private live: LiveConnection | null = null;
  private residentRefresh: ReturnType<typeof setTimeout> | null = null;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;
  private activityTimer: ReturnType<typeof setInterval> | null = null;
  private readonly escalationTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private refreshing: Promise<boolean> | null = null;
  /** Changes at each sign-in and sign-out (not at a token refresh): answers to an older one are dropped. */
  private epoch = 0;
  /** Hub presence and robot status as they arrived, laid over lists read before them. */
  readonly devices = new LiveDevices();
  /** Other parts of the page (the resident page) listening to live events. */
  readonly liveListeners = new Set<(event: { kind: string; payload: unknown }) => void>();

  constructor(options: ControllerOptions) {
    this.storage = options.storage;
    this.prefsStorage = options.prefsStorage;
    const prefs = loadPrefs(this.prefsStorage);
    setLocale(prefs.locale);
    this.store = new Store(initialState(loadSession(this.storage), prefs));
    this.api =
      options.api ??
      new ApiClient({
        getToken: () => this.currentToken(),
        onUnauthorized: () => this.signOut(t("session.ended")),
        refresh: () => this.refreshTokens(),
      });
    this.connect = options.connect ?? connectLive;
    this.alarm = options.alarm;
  }

  /** Resume a stored session, if any: check it with /me, then load and go live. */
  async start(): Promise<void> {
    const session = this.store.get().session;
    if (session === null) return;
    try {
      if (session.expiresAt <= Date.now() && !(await this.refreshTokens())) return;
      const user = await this.api.me();
      const current = this.store.get().session;
      if (current === null) return;
      this.store.dispatch({ type: "signedIn", session: { ...current, user } });
      saveSession(this.storage, this.store.get().session!);
      this.goLive();
    } catch (error) {
      // A 401 has already signed the user out; anything else is shown in place of the lists.
      if (!(error instanceof ApiError && error.isUnauthorized)) {
        this.store.dispatch({ type: "loadFailed", message: messageOf(error) });
      }
    }
  }

  /** Sign in; resolves to an error message for the form, or null on success. */
  async signIn(email: string, password: string): Promise<string | null> {
    try {
      const login = await this.api.login(email, password);
      const session = sessionFromLogin(login);
      this.epoch += 1;
      saveSession(this.storage, session);
      this.store.dispatch({ type: "signedIn", session });
      this.goLive();
      return null;
    } catch (error) {
      return messageOf(error);
    }
  }

  /** Sign out, ending the login session on the server too when the user asked for it. */
  logout(): void {
    const token = this.currentToken();
    if (token !== null) void this.api.logout().catch(() => undefined);
    this.signOut();
  }

  /** Sign out locally, optionally saying why. */
  signOut(notice?: string): void {
    this.epoch += 1;
    this.live?.close();
    this.live = null;
    for (const timer of [this.residentRefresh, this.expiryTimer]) if (timer) clearTimeout(timer);
    if (this.activityTimer) clearInterval(this.activityTimer);
    for (const timer of this.escalationTimers.values()) clearTimeout(timer);
    this.escalationTimers.clear();
    this.devices.clear();
    this.residentRefresh = null;
    this.expiryTimer = null;
    this.activityTimer = null;
    clearSession(this.storage);
    this.store.dispatch(notice === undefined ? { type: "signedOut" } : { type: "signedOut", notice });
  }

  /** Exchange the refresh token for a new pair (one exchange at a time); false: sign in again. */
  refreshTokens(): Promise<boolean> {
    if (this.refreshing) return this.refreshing;
    const session = this.store.get().session;
    if (!session?.refreshToken || (session.refreshExpiresAt ?? 0) <= Date.now())
      return Promise.resolve(false);
    this.refreshing = this.api
      .refresh(session.refreshToken)
      .then((login) => {
        if (this.store.get().session?.refreshToken !== session.refreshToken) return false;
        const next = { ...sessionFromLogin(login), user: session.user };
        saveSession(this.storage, next);
        this.store.dispatch({ type: "sessionRefreshed", session: next });
        this.scheduleExpiry();
        return true;
      })
      .catch(() => false)
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Reload residents and alerts from the server. */
  async reload(): Promise<void> {
    const epoch = this.epoch;
    this.store.dispatch({ type: "loading" });
    try {
      const [residents, alerts] = await Promise.all([this.api.residents(), this.api.alerts(ACTIVE_STATES)]);
      // An answer that arrives after sign-out (or a new sign-in) belongs to nobody.
      if (this.epoch !== epoch) return;
      this.store.dispatch({ type: "loaded", residents, alerts });
      for (const alert of alerts) void this.loadDetail(alert.id);
      void this.loadExtras(residents);
    } catch (error) {
      if (this.epoch !== epoch) return;
      if (error instanceof ApiError && error.isUnauthorized) return;
      this.store.dispatch({ type: "loadFailed", message: messageOf(error) });
    }
  }

  /** Acknowledge an alert; resolves to an error message, or null on success. */
  acknowledge(alertId: number): Promise<string | null> {
    return this.changeAlert(() => this.api.acknowledge(alertId));
  }

  /** Resolve an alert with a note; resolves to an error message, or null on success. */
  resolve(alertId: number, note: string): Promise<string | null> {
    return this.changeAlert(() => this.api.resolve(alertId, note));
  }

  /** Read one alert's escalation state and timeline into the store. */
  async loadDetail(alertId: number): Promise<void> {
    const epoch = this.epoch;
    try {
      const detail = await this.api.alert(alertId);
      if (this.epoch !== epoch) return;
      this.store.dispatch({ type: "detailLoaded", detail });
      this.scheduleEscalationCheck(
        alertId,
        detail.escalation?.next_escalation_at ?? null,
        detail.escalation === null,
      );
    } catch {
      // The card shows the alert without its escalation line; the next event tries again.
    }
  }

  /** Change language, large type or mute, and remember it in this browser. */
  setPrefs(prefs: Partial<UiPrefs>): void {
    if (prefs.locale !== undefined && prefs.locale !== getLocale()) {
      setLocale(prefs.locale);
      this.saveLanguage(prefs.locale);
    }
    this.store.dispatch({ type: "prefs", prefs });
    savePrefs(this.prefsStorage, this.store.get().prefs);
    if (prefs.muted === true) this.alarm?.stop();
  }

  /**
   * The language chosen on the page is also the one the server writes this user's e-mails,
   * pushes and webhooks in. Best effort: if it fails, the page's language still changed, and the
   * server keeps the old one until the next choice (a 401 signs out as everywhere else).
   */
  private saveLanguage(locale: Locale): void {
    const user = this.store.get().session?.user;
    if (user === undefined || user.language === locale) return;
    void this.api.setLanguage(locale).then(
      (saved) => {
        const current = this.store.get().session;
        if (current === null || current.user.id !== saved.id) return;
        this.store.dispatch({ type: "sessionRefreshed", session: { ...current, user: saved } });
        saveSession(this.storage, this.store.get().session!);
      },
      () => undefined,
    );
  }

  /** Ask the browser for permission to show desktop notifications (needs a user's click). */
  async enableNotifications(): Promise<NotificationPermission | "unsupported"> {
    if (typeof Notification === "undefined") return "unsupported";
    return Notification.requestPermission();
  }

  private async changeAlert(call: () => Promise<Alert>): Promise<string | null> {
    const epoch = this.epoch;
    try {
      const alert = await call();
      if (this.epoch !== epoch) return null;
      this.store.dispatch({ type: "alertChanged", alert });
      if (alert.state !== "resolved") void this.loadDetail(alert.id);
      this.scheduleResidentRefresh();
      return null;
    } catch (error) {
      // Somebody else may have handled it first: show the server's current picture.
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
        void this.reload();
      }
      return messageOf(error);
    }
  }

  private currentToken(): string | null {
    return this.store.get().session?.token ?? null;
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const session = this.store.get().session;
    if (session === null) return;
    const canRefresh = Boolean(session.refreshToken) && (session.refreshExpiresAt ?? 0) > Date.now();
    const at = canRefresh ? session.expiresAt - REFRESH_AHEAD_MS : session.expiresAt;
    const remaining = Math.max(at - Date.now(), 0);
    // setTimeout overflows above ~24.8 days; such a token is refreshed by a reload long before.
    if (remaining >= 2 ** 31) return;
    this.expiryTimer = setTimeout(() => {
      if (!canRefresh) {
        this.signOut(t("session.ended"));
        return;
      }
      void this.refreshTokens().then((ok) => {
        if (!ok && this.store.get().session !== null) this.signOut(t("session.ended"));
      });
    }, remaining);
  }

  private goLive(): void {
    const session = this.store.get().session;
    if (session === null) return;
    this.scheduleExpiry();
    void this.reload();
    if (this.activityTimer) clearInterval(this.activityTimer);
    this.activityTimer = setInterval(
      () => void this.loadExtras(this.store.get().residents),
      ACTIVITY_REFRESH_MS,
    );
    this.live?.close();
    this.live = this.connect({
      getToken: () => this.currentToken(),
      onAlert: (alert) => this.onLiveAlert(alert),
      onStatus: (status) => {
        if (status === "unauthorized") {
          // The token may simply have expired: try a refresh once, reconnecting with the new one.
          void this.refreshTokens().then((ok) => {
            if (ok) this.live?.socket?.connect();
            else this.signOut(t("session.ended"));
          });
        } else this.store.dispatch({ type: "connection", status });
      },
      // Only when the catch-up was missing or incomplete: a complete one replayed what was missed.
      // Parts of the page that read their own data (today's checks) read it again too.
      onResync: () => {
        this.emitLive("resync", null);
        void this.reload();
      },
      onNotification: (payload) => {
        if (typeof payload.alert_id === "number") void this.loadDetail(payload.alert_id);
        this.emitLive("notification", payload);
      },
      onSensorState: (payload) => {
        this.store.dispatch({ type: "sensorState", state: payload });
        this.emitLive("sensor_state", payload);
      },
      onRobotStatus: (payload) => {
        this.devices.robotStatus(payload);
        this.store.dispatch({ type: "robotStatus", status: payload });
        this.emitLive("robot_status", payload);
      },
      onRobotCommand: (payload) => this.emitLive("robot_command", payload),
      onHubPresence: (payload) => {
        this.devices.hubPresence(payload);
        this.store.dispatch({ type: "hubPresence", presence: payload });
        this.emitLive("hub_presence", payload);
      },
      onRuleCheck: (payload) => this.emitLive("rule_check", payload),
      onVideoState: (payload) => this.emitLive("video:state", payload),
    });
  }

  /** The live Socket.IO connection (video signaling rides on it), or null when signed out. */
  liveSocket(): Socket | null {
    return this.live?.socket ?? null;
  }

  /** Send a command to a robot; resolves to the accepted command, or the server's refusal in words. */
  async sendRobotCommand(
    robotId: number,
    body: RobotCommandBody,
  ): Promise<{ command: RobotCommand } | { error: string }> {
    try {
      return { command: await this.api.robotCommand(robotId, body) };
    } catch (error) {
      return { error: messageOf(error) };
    }
  }

  private emitLive(kind: string, payload: unknown): void {
    for (const listener of this.liveListeners) listener({ kind, payload });
  }

  private onLiveAlert(alert: Alert): void {
    const before = this.store.get().alerts.find((a) => a.id === alert.id);
    this.store.dispatch({ type: "alertReceived", alert });
    this.scheduleResidentRefresh();
    if (alert.state !== "resolved") void this.loadDetail(alert.id);
    this.emitLive("alert", alert);
    const becameUrgent = isUrgent(alert) && (before === undefined || !isUrgent(before));
    // The alarm is for staff at a desk; guardians are reached by their own channels (push, ...).
    if (becameUrgent && this.store.get().session?.user.role !== "guardian") this.raiseAlarm(alert);
    if (!this.store.get().alerts.some(isUrgent)) this.alarm?.stop();
  }

  private raiseAlarm(alert: Alert): void {
    const state = this.store.get();
    if (!state.prefs.muted) this.alarm?.start();
    const resident = state.residents.find((r) => r.id === alert.resident_id);
    this.alarm?.notify(t("app.title"), announceAlert(alert, resident), `sst-alert-${alert.id}`);
  }

  /** Read an alert again once its next escalation step is due, so the line stays true. */
  private scheduleEscalationCheck(alertId: number, dueAt: string | null, pending: boolean): void {
    const existing = this.escalationTimers.get(alertId);
    if (existing) clearTimeout(existing);
    this.escalationTimers.delete(alertId);
    const alert = this.store.get().alerts.find((a) => a.id === alertId);
    if (alert === undefined || alert.state === "resolved") return;
    let wait: number | null = null;
    if (dueAt !== null) wait = Math.max(Date.parse(dueAt) - Date.now(), 0) + ESCALATION_SETTLE_MS;
    else if (pending && alert.state === "open") wait = ESCALATION_SETTLE_MS;
    if (wait === null || wait >= 2 ** 31) return;
    this.escalationTimers.set(
      alertId,
      setTimeout(() => {
        this.escalationTimers.delete(alertId);
        void this.loadDetail(alertId);
      }, wait),
    );
  }

  /** Last activity (yesterday's and today's heatmap in the home's zone), risk, hubs and robots per resident. */
  private async loadExtras(residents: readonly Resident[]): Promise<void> {
    const epoch = this.epoch;
    const now = new Date();
    // Device events that arrive while these are read must not be undone by the answers.
    const since = this.devices.mark();
    await Promise.all(
      residents.slice(0, 100).map(async (resident) => {
        // Yesterday too: at one in the morning "last seen" should still say where she went to bed.
        const today = localDate(now, resident.timezone);
        const yesterday = shiftDate(today, -1);
        const [heatmap, risk, robots, hubs] = await Promise.all([
          this.api.heatmap(resident.id, yesterday, today).catch(() => null),
          this.api.risk(resident.id).catch(() => null),
          resident.home_id === null
            ? Promise.resolve([])
            : this.api.robots(resident.home_id).catch(() => null),
          resident.home_id === null ? Promise.resolve([]) : this.api.hubs(resident.home_id).catch(() => null),
        ]);
        if (this.epoch !== epoch) return;
        let last: LastActivity | null = null;
        try {
          last = heatmap === null ? null : lastActivity(heatmap);
        } catch {
          // An answer of an unexpected shape: shown as unknown rather than breaking the list.
        }
        this.store.dispatch({
          type: "extrasLoaded",
          residentId: resident.id,
          extras: {
            lastActivity: last,
            risk,
            robots: robots && this.devices.robots(robots, since),
            hubs: hubs && this.devices.hubs(hubs, since),
          },
        });
      }),
    );
  }

  private scheduleResidentRefresh(): void {
    if (this.residentRefresh !== null) return;
    const epoch = this.epoch;
    this.residentRefresh = setTimeout(() => {
      this.residentRefresh = null;
      this.api
        .residents()
        .then((residents) => {
          if (this.epoch === epoch) this.store.dispatch({ type: "residentsLoaded", residents });
        })
        .catch(() => {
          // Counts stay slightly stale; the next alert or reload fixes them.
        });
    }, RESIDENT_REFRESH_MS);
  }
}

/** The message to show a person for any error. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return t("error.generic");
}
