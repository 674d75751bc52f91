// Typed client of the backend's REST API; every failure becomes an ApiError.
import { getLocale, serverText, t, type Locale } from "./i18n";
import type {
  ActivityHeatmap,
  Alert,
  AlertDetail,
  EmergencyContact,
  EmergencyContactIn,
  AlertState,
  ApiErrorBody,
  DailySummaries,
  DaySummaryText,
  Home,
  Hub,
  HubProvisioned,
  LoginResponse,
  MqttCredentials,
  Policy,
  PolicyStep,
  Preferences,
  PreferencesIn,
  Resident,
  ResidentDetail,
  ResidentRisk,
  Robot,
  RobotCommand,
  RobotProvisioned,
  Room,
  RuleChecks,
  Sensor,
  SensorSeries,
  VideoRecording,
  VideoSessionStarted,
  VideoSessionSummary,
  Severity,
  Threshold,
  User,
  UserAdmin,
} from "./types";

/** A failed API call: HTTP status (0 when the server was not reached), code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** True when the session is no longer valid and the user must sign in again. */
  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  getToken: () => string | null;
  /** Called once for any 401 on an authenticated call (not on login) that a refresh did not cure. */
  onUnauthorized?: (error: ApiError) => void;
  /** Get a new access token after a 401; resolves to true when the call is worth retrying. */
  refresh?: () => Promise<boolean>;
}

const GENERIC: Record<"en" | "ko", Record<number, string>> = {
  en: {
    0: "The server could not be reached. Check the connection and try again.",
    403: "You are not allowed to do this.",
    404: "This item no longer exists.",
    409: "Someone else changed this in the meantime. The list has been refreshed.",
    500: "The server had a problem. Please try again in a moment.",
  },
  ko: {
    0: "서버에 연결할 수 없습니다. 연결을 확인하고 다시 시도하세요.",
    403: "이 작업을 할 권한이 없습니다.",
    404: "이 항목은 더 이상 없습니다.",
    409: "그사이 다른 사람이 바꾸었습니다. 목록을 새로 불러왔습니다.",
    500: "서버에 문제가 있습니다. 잠시 후 다시 시도하세요.",
  },
};

/** Generic messages in the page's language, for answers without a readable error body. */
const GENERIC_MESSAGES = new Proxy({} as Record<number, string>, {
  get: (_target, status) => GENERIC[getLocale()][Number(String(status))],
});

function isErrorBody(body: unknown): body is ApiErrorBody {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** Turn a non-2xx response into an ApiError, trusting only a well-formed error body. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page or an empty body: fall back to a generic message.
  }
  if (isErrorBody(body)) {
    const { code, message, details } = body.error;
    return new ApiError(response.status, code, serverText(code, message), details);
  }
  const message =
    GENERIC_MESSAGES[response.status] ??
    (response.status >= 500
      ? (GENERIC_MESSAGES[500] ?? "")
      : t("error.httpStatus", { status: response.status }));
  return new ApiError(response.status, `http_${response.status}`, message);
}

/** REST client bound to a token source; one instance per page. */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly getToken: () => string | null;
  private readonly onUnauthorized: ((error: ApiError) => void) | undefined;
  private readonly refreshSession: (() => Promise<boolean>) | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl ?? "";
    // Bound so that a window.fetch taken out of its object still works.
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.getToken = options.getToken;
    this.onUnauthorized = options.onUnauthorized;
    this.refreshSession = options.refresh;
  }

  /** Exchange a refresh token for a new pair (the old refresh token stops working). */
  refresh(refreshToken: string): Promise<LoginResponse> {
    return this.request<LoginResponse>(
      "POST",
      "/api/v1/auth/refresh",
      { refresh_token: refreshToken },
      false,
    );
  }

  /** End this login session on the server (its tokens and live sockets). */
  logout(): Promise<void> {
    return this.request<void>("POST", "/api/v1/auth/logout");
  }

  /** Exchange email and password for a token; a 401 here is a wrong password, not a lost session. */
  login(email: string, password: string): Promise<LoginResponse> {
    return this.request<LoginResponse>("POST", "/api/v1/auth/login", { email, password }, false);
  }

  /** The signed-in user. */
  me(): Promise<User> {
    return this.request<User>("GET", "/api/v1/me");
  }

  /** Choose the language of your e-mails, pushes and webhooks. */
  setLanguage(language: Locale): Promise<User> {
    return this.request<User>("PUT", "/api/v1/me/language", { language });
  }

  /** Residents the user may see, with their open-alert counts. */
  residents(): Promise<Resident[]> {
    return this.request<Resident[]>("GET", "/api/v1/residents");
  }

  /** Alerts in the given states (server default: open and acknowledged), newest first. */
  alerts(states: readonly AlertState[] = []): Promise<Alert[]> {
    const query = new URLSearchParams(states.map((state) => ["state", state]));
    const suffix = states.length > 0 ? `?${query.toString()}` : "";
    return this.request<Alert[]>("GET", `/api/v1/alerts${suffix}`);
  }

  /** Mark an alert as seen and being handled. */
  acknowledge(alertId: number): Promise<Alert> {
    return this.request<Alert>("POST", `/api/v1/alerts/${alertId}/acknowledge`);
  }

  /** Close an alert with a note saying what was done. */
  resolve(alertId: number, note: string): Promise<Alert> {
    return this.request<Alert>("POST", `/api/v1/alerts/${alertId}/resolve`, { note });
  }

  /** One alert with its escalation state and timeline. */
  alert(alertId: number): Promise<AlertDetail> {
    return this.request<AlertDetail>("GET", `/api/v1/alerts/${alertId}`);
  }

  /** Alerts of one resident in any state, newest first. */
  residentAlerts(residentId: number, states: readonly AlertState[], limit = 20): Promise<Alert[]> {
    const query = new URLSearchParams([
      ["resident_id", String(residentId)],
      ["limit", String(limit)],
    ]);
    for (const state of states) query.append("state", state);
    return this.request<Alert[]>("GET", `/api/v1/alerts?${query.toString()}`);
  }

  resident(residentId: number): Promise<ResidentDetail> {
    return this.request<ResidentDetail>("GET", `/api/v1/residents/${residentId}`);
  }

  createResident(body: {
    full_name: string;
    date_of_birth?: string | null;
    home?: { label: string; timezone: string };
  }): Promise<ResidentDetail> {
    return this.request<ResidentDetail>("POST", "/api/v1/residents", body);
  }

  emergencyContacts(residentId: number): Promise<EmergencyContact[]> {
    return this.request<EmergencyContact[]>("GET", `/api/v1/residents/${residentId}/emergency-contacts`);
  }

  addEmergencyContact(residentId: number, body: EmergencyContactIn): Promise<EmergencyContact> {
    return this.request<EmergencyContact>("POST", `/api/v1/residents/${residentId}/emergency-contacts`, body);
  }

  deleteEmergencyContact(residentId: number, contactId: number): Promise<void> {
    return this.request<void>("DELETE", `/api/v1/residents/${residentId}/emergency-contacts/${contactId}`);
  }

  homes(): Promise<Home[]> {
    return this.request<Home[]>("GET", "/api/v1/homes");
  }

  rooms(homeId: number): Promise<Room[]> {
    return this.request<Room[]>("GET", `/api/v1/homes/${homeId}/rooms`);
  }

  sensors(homeId: number): Promise<Sensor[]> {
    return this.request<Sensor[]>("GET", `/api/v1/homes/${homeId}/sensors`);
  }

  hubs(homeId: number): Promise<Hub[]> {
    return this.request<Hub[]>("GET", `/api/v1/homes/${homeId}/hubs`);
  }

  robots(homeId: number): Promise<Robot[]> {
    return this.request<Robot[]>("GET", `/api/v1/homes/${homeId}/robots`);
  }

  /** Send a robot a command (202 with the queued command; 422 and others explain a refusal). */
  robotCommand(
    robotId: number,
    body: { command: string; args: Record<string, unknown> },
  ): Promise<RobotCommand> {
    return this.request<RobotCommand>("POST", `/api/v1/robots/${robotId}/commands`, body);
  }

  /** The resident's latest video sessions, newest first (who is watching now, and the record). */
  videoSessions(residentId: number, limit = 10): Promise<VideoSessionSummary[]> {
    return this.request<VideoSessionSummary[]>(
      "GET",
      `/api/v1/residents/${residentId}/video-sessions?limit=${limit}`,
    );
  }

  /** Ask for an emergency video session of the resident (docs/video.md). */
  /** The recordings of the resident's emergency video sessions (staff who see the resident). */
  videoRecordings(residentId: number, limit = 20): Promise<VideoRecording[]> {
    return this.request<VideoRecording[]>(
      "GET",
      `/api/v1/residents/${residentId}/video-recordings?limit=${limit}`,
    );
  }

  /** One recording's file (the server audits the download). */
  videoRecordingFile(residentId: number, recordingId: number): Promise<Blob> {
    return this.request<Blob>(
      "GET",
      `/api/v1/residents/${residentId}/video-recordings/${recordingId}`,
      undefined,
      true,
      "blob",
    );
  }

  startVideo(residentId: number): Promise<VideoSessionStarted> {
    return this.request<VideoSessionStarted>("POST", `/api/v1/residents/${residentId}/video-sessions`);
  }

  /** A sensor's readings in buckets (count, min, max, avg) from `start` until now. */
  series(sensorId: number, bucket: string, start: string): Promise<SensorSeries> {
    const query = new URLSearchParams({ bucket, start });
    return this.request<SensorSeries>("GET", `/api/v1/sensors/${sensorId}/series?${query}`);
  }

  heatmap(residentId: number, startDate: string, endDate: string): Promise<ActivityHeatmap> {
    const query = new URLSearchParams({ start_date: startDate, end_date: endDate });
    return this.request<ActivityHeatmap>("GET", `/api/v1/residents/${residentId}/activity-heatmap?${query}`);
  }

  risk(residentId: number, hours = 24): Promise<ResidentRisk> {
    const query = new URLSearchParams({ hours: String(hours) });
    return this.request<ResidentRisk>("GET", `/api/v1/residents/${residentId}/risk?${query}`);
  }

  ruleChecks(residentId: number): Promise<RuleChecks> {
    return this.request<RuleChecks>("GET", `/api/v1/residents/${residentId}/rule-checks`);
  }

  dailySummaries(residentId: number, startDate: string, endDate: string): Promise<DailySummaries> {
    const query = new URLSearchParams({ start_date: startDate, end_date: endDate });
    return this.request<DailySummaries>("GET", `/api/v1/residents/${residentId}/daily-summaries?${query}`);
  }

  /** The day in plain words (today, in the home's zone, when no date is given). */
  daySummary(residentId: number, date?: string): Promise<DaySummaryText> {
    const suffix = date ? `?date=${encodeURIComponent(date)}` : "";
    return this.request<DaySummaryText>("GET", `/api/v1/residents/${residentId}/daily-summary${suffix}`);
  }

  thresholds(residentId: number): Promise<Threshold[]> {
    return this.request<Threshold[]>("GET", `/api/v1/residents/${residentId}/thresholds`);
  }

  setThreshold(residentId: number, rule: string, params: Record<string, unknown>): Promise<Threshold> {
    return this.request<Threshold>("PUT", `/api/v1/residents/${residentId}/thresholds/${rule}`, { params });
  }

  residentPolicies(residentId: number): Promise<Policy[]> {
    return this.request<Policy[]>("GET", `/api/v1/residents/${residentId}/escalation-policies`);
  }

  setResidentPolicy(
    residentId: number,
    severity: Severity,
    steps: PolicyStep[],
    reminderIntervalS: number | null,
  ): Promise<Policy> {
    return this.request<Policy>("PUT", `/api/v1/residents/${residentId}/escalation-policies/${severity}`, {
      steps,
      reminder_interval_s: reminderIntervalS,
    });
  }

  preferences(): Promise<Preferences> {
    return this.request<Preferences>("GET", "/api/v1/me/notification-preferences");
  }

  setPreferences(body: PreferencesIn): Promise<Preferences> {
    return this.request<Preferences>("PUT", "/api/v1/me/notification-preferences", body);
  }

  vapidKey(): Promise<{ public_key: string | null }> {
    return this.request<{ public_key: string | null }>("GET", "/api/v1/notifications/vapid-public-key");
  }

  users(role?: string): Promise<UserAdmin[]> {
    const suffix = role ? `?role=${encodeURIComponent(role)}&limit=200` : "?limit=200";
    return this.request<UserAdmin[]>("GET", `/api/v1/admin/users${suffix}`);
  }

  createUser(body: {
    email: string;
    full_name: string;
    role: string;
    password: string;
    is_charge_nurse?: boolean;
  }): Promise<UserAdmin> {
    return this.request<UserAdmin>("POST", "/api/v1/admin/users", body);
  }

  assign(userId: number, residentId: number, assigned: boolean): Promise<UserAdmin> {
    return this.request<UserAdmin>(
      assigned ? "PUT" : "DELETE",
      `/api/v1/admin/users/${userId}/assignments/${residentId}`,
    );
  }

  linkGuardian(userId: number, residentId: number, relation: string): Promise<UserAdmin> {
    return this.request<UserAdmin>("PUT", `/api/v1/admin/users/${userId}/guardian-links/${residentId}`, {
      relation,
    });
  }

  provisionHub(homeId: number, serial: string | null): Promise<HubProvisioned> {
    return this.request<HubProvisioned>("POST", "/api/v1/admin/hubs", {
      home_id: homeId,
      serial,
      sensors: [],
    });
  }

  rotateHubCredentials(hubId: number): Promise<MqttCredentials> {
    return this.request<MqttCredentials>("POST", `/api/v1/admin/hubs/${hubId}/credentials`);
  }

  provisionRobot(homeId: number, serial: string | null, model: string): Promise<RobotProvisioned> {
    return this.request<RobotProvisioned>("POST", "/api/v1/admin/robots", { home_id: homeId, serial, model });
  }

  addSensor(hubId: number, key: string, kind: string, roomId: number | null): Promise<Sensor> {
    return this.request<Sensor>("POST", `/api/v1/hubs/${hubId}/sensors`, { key, kind, room_id: roomId });
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    authenticated = true,
    as: "json" | "blob" = "json",
  ): Promise<T> {
    try {
      return await this.send<T>(method, path, body, authenticated, as);
    } catch (error) {
      if (!(authenticated && error instanceof ApiError && error.isUnauthorized)) throw error;
      // An expired access token: get a new one once and try again, else the session is over.
      if (this.refreshSession !== undefined && (await this.refreshSession())) {
        try {
          return await this.send<T>(method, path, body, authenticated, as);
        } catch (retryError) {
          if (retryError instanceof ApiError && retryError.isUnauthorized) this.onUnauthorized?.(retryError);
          throw retryError;
        }
      }
      this.onUnauthorized?.(error);
      throw error;
    }
  }

  private async send<T>(
    method: string,
    path: string,
    body: unknown,
    authenticated: boolean,
    as: "json" | "blob",
  ): Promise<T> {
    // A file comes as whatever it is; its errors still come as JSON.
    const headers: Record<string, string> = { Accept: as === "blob" ? "*/*" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = authenticated ? this.getToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;

    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new ApiError(0, "network_error", GENERIC_MESSAGES[0] ?? "Network error");
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;
    if (as === "blob") return (await response.blob()) as T;
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiError(response.status, "bad_response", t("error.unreadable"));
    }
  }
}
