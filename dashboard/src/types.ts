// Wire types of the backend's REST API v1 and Socket.IO events.
import type { AlertText, ServerText } from "./i18n/server";

export type Role = "admin" | "staff" | "guardian";
export type Severity = "critical" | "high" | "medium" | "low";
export type AlertState = "open" | "acknowledged" | "resolved";

export interface User {
  id: number;
  email: string;
  full_name: string;
  role: Role;
  facility_id: number;
  /** Staff who may change thresholds and escalation policies (absent from older answers). */
  is_charge_nurse?: boolean;
  /** The language of this user's notifications (absent from older answers). */
  language?: "en" | "ko";
}

export interface LoginResponse {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  /** Present on the current backend; older answers (and some tests) leave it out. */
  refresh_token?: string;
  refresh_expires_in?: number;
  user: User;
}

export type SeverityCounts = Record<Severity, number>;

export interface Resident {
  id: number;
  full_name: string;
  facility_id: number;
  home_id: number | null;
  /** The home's IANA zone; null for a resident without a home. */
  timezone: string | null;
  open_alerts: SeverityCounts;
}

export interface Alert {
  id: number;
  resident_id: number;
  facility_id: number;
  kind: string;
  severity: Severity;
  state: AlertState;
  title: string;
  explanation: string;
  count: number;
  opened_at: string;
  last_seen_at: string;
  sensor_id: number | null;
  room: string | null;
  /** Title and explanation as message keys with raw values (absent or null on older alerts). */
  text?: AlertText | null;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low"];

// ---- Alert detail and escalation (GET /api/v1/alerts/{id}) ----

export type EscalationTarget = "assigned_staff" | "staff_on_duty" | "guardians" | "emergency_contact";

export interface PolicyStep {
  target: EscalationTarget;
  delay_s: number;
}

export interface Escalation {
  policy_source: string;
  round: number;
  steps: PolicyStep[];
  next_step: { index: number; target: EscalationTarget; who: string } | null;
  next_escalation_at: string | null;
  remind_at: string | null;
  reminders_sent: number;
}

export interface TimelineEvent {
  at: string;
  action: string;
  actor_id?: number | null;
  actor_name?: string | null;
  details?: Record<string, unknown>;
}

/** The languages a notification may be written in. */
export type Language = "en" | "ko";

/** An emergency contact of a resident (the last escalation step), by e-mail or SMS. */
export interface EmergencyContactIn {
  full_name: string;
  relation: string;
  phone: string | null;
  email: string | null;
  priority: number;
  language: Language;
}

export interface EmergencyContact extends EmergencyContactIn {
  id: number;
  resident_id: number;
}

export type DeliveryChannel = "in_app" | "email" | "webhook" | "push";
export type DeliveryOutcome = "waiting" | "retrying" | "sent" | "failed" | "cancelled";

/** One notification about an alert (a guardian receives only their own). */
export interface Delivery {
  id: number;
  purpose: string;
  channel: DeliveryChannel | string;
  recipient: string;
  recipient_user_id?: number | null;
  outcome: DeliveryOutcome;
  attempts: number;
  error?: string | null;
  queued_at: string;
  sent_at?: string | null;
  next_retry_at?: string | null;
}

export interface AlertDetail extends Alert {
  acknowledged_by?: number | null;
  acknowledged_at?: string | null;
  resolved_by?: number | null;
  resolved_at?: string | null;
  resolution_note?: string | null;
  escalation?: Escalation | null;
  timeline: TimelineEvent[];
  /** Absent from servers older than the deliveries list. */
  deliveries?: Delivery[];
}

export interface Policy {
  severity: Severity;
  source: string;
  resident_id?: number | null;
  steps: PolicyStep[];
  reminder_interval_s?: number | null;
}

// ---- Residents, homes and devices ----

export interface ResidentDetail {
  id: number;
  facility_id: number;
  full_name: string;
  date_of_birth: string | null;
  video_consent: boolean;
  home_id: number | null;
  home_label: string | null;
  timezone: string | null;
  created_at: string;
}

export interface Home {
  id: number;
  facility_id: number;
  label: string;
  timezone: string;
  resident_id: number | null;
}

export interface Room {
  id: number;
  home_id: number;
  name: string;
  kind: string;
}

export interface Sensor {
  id: number;
  hub_id: number;
  home_id: number;
  room_id: number | null;
  key: string;
  kind: string;
  battery_pct: number | null;
}

export interface Robot {
  id: number;
  home_id: number;
  serial: string;
  model: string;
  capabilities: string[];
  state: string | null;
  battery_pct: number | null;
  position: string | null;
  last_seen_at: string | null;
}

/** POST/GET /api/v1/robots/{id}/commands */
export interface RobotCommand {
  id: number;
  robot_id: number;
  command: string;
  args: Record<string, unknown>;
  state: string;
  attempts: number;
  created_by: number | null;
  created_at: string;
  updated_at: string;
  expires_at: string;
  detail: string | null;
  /** The detail as a server text (the robot's progress text, or SST's own words). */
  detail_text?: ServerText | null;
}

/** GET /api/v1/residents/{id}/video-sessions: one session of the record (newest first). */
export interface VideoSessionSummary {
  id: string;
  resident_id: number;
  requested_by: number | null;
  requested_by_name?: string | null;
  state: "requested" | "connected" | "ended";
  requested_at: string;
  connected_at: string | null;
  ended_at: string | null;
}

/** GET /api/v1/residents/{id}/video-recordings: one recording (newest first; staff only). */
export interface VideoRecording {
  id: number;
  session_id: string;
  state: "recording" | "stored" | "failed";
  content_type: string | null;
  size_bytes: number | null;
  duration_s: number | null;
  frames: number | null;
  error: string | null;
  started_at: string;
  stored_at: string | null;
  delete_after: string;
}

/** POST /api/v1/residents/{id}/video-sessions (201). */
export interface VideoSessionStarted {
  id: string;
  resident_id: number;
  state: string;
  basis: string;
  alert_id: number | null;
  connect_by: string;
  expires_at: string;
  ice_servers: { urls: string | string[]; username?: string; credential?: string }[];
  ice_transport_policy: "relay" | "all";
  /** The server records this session (docs/video.md, Recording): the carer is told. */
  recorded?: boolean;
}

export interface MqttCredentials {
  username: string;
  password: string;
  topic_root: string;
  issued_at: string;
}

export interface HubProvisioned {
  id: number;
  home_id: number;
  serial: string;
  sensors: { id: number; key: string; kind: string; room_id: number | null }[];
  mqtt: MqttCredentials;
}

export interface RobotProvisioned {
  id: number;
  home_id: number;
  serial: string;
  model: string;
  mqtt: MqttCredentials;
}

export interface UserAdmin extends User {
  is_charge_nurse: boolean;
  is_active: boolean;
  created_at: string;
  resident_ids: number[];
}

// ---- Analytics ----

export interface ActivityHeatmap {
  resident_id: number;
  timezone: string;
  start_date: string;
  end_date: string;
  rooms: { room_id: number; name: string; kind: string }[];
  rows: { room_id: number; date: string; events: number[] }[];
}

export interface MetricTrend {
  baseline_mean: number | null;
  band_low: number | null;
  band_high: number | null;
  baseline_days: number;
  status: string;
}

export interface DailyTrendDay {
  date: string;
  has_data: boolean;
  sleep_hours: number | null;
  night_bathroom_visits: number | null;
  out_of_home_hours: number | null;
  kitchen_active_hours: number | null;
  activity_events: number | null;
  trend: Record<string, MetricTrend>;
}

export interface DailySummaries {
  resident_id: number;
  timezone: string;
  start_date: string;
  end_date: string;
  baseline_days: number;
  days: DailyTrendDay[];
}

/** The plain-words summary of one day (GET /residents/{id}/daily-summary). */
export interface DaySummaryText {
  resident_id: number;
  date: string;
  timezone: string;
  complete: boolean;
  alerts: { title: string; severity: string; state: string; title_text?: ServerText | null }[];
  /** The daily e-mail's opening line ("How Kim's day went, Sunday 8 Mar:"), and as a text. */
  opening?: string;
  opening_text?: ServerText;
  lines: string[];
  /** The lines as message keys with raw values (absent from older servers). */
  lines_text?: ServerText[];
  text: string;
}

export interface Threshold {
  rule: string;
  description: string;
  parameters: Record<string, unknown>;
  overrides: Record<string, unknown>;
  effective: Record<string, unknown>;
  updated_at: string | null;
}

// ---- Notifications ----

export type Channel = "in_app" | "email" | "webhook" | "push";

export interface Preferences {
  channels: Channel[];
  webhook_url: string | null;
  webhook_secret_set: boolean;
  push_endpoint: string | null;
  daily_summary: boolean;
}

export interface PreferencesIn {
  channels: Channel[];
  webhook_url?: string | null;
  webhook_secret?: string | null;
  push_subscription?: { endpoint: string; keys: { p256dh: string; auth: string } } | null;
  daily_summary?: boolean;
}

/** A hub and its presence (GET /api/v1/homes/{id}/hubs). */
export interface Hub {
  id: number;
  home_id: number;
  online: boolean;
  last_seen_at: string | null;
}

/** Which way a resident's routine risk moved over the window. */
export type RiskTrend = "up" | "down" | "flat";

/** GET /api/v1/residents/{id}/risk: the newest routine risk score (0-100) and its trend. */
export interface ResidentRisk {
  resident_id: number;
  score: number | null;
  at: string | null;
  explanation: string | null;
  /** The explanation as a message key with raw values (absent or null on older scores). */
  explanation_text?: ServerText | null;
  trend: RiskTrend | null;
  series: { at: string; score: number }[];
}

/** What a windowed rule last decided: nothing to report, its alert is raised, or it cannot tell. */
export type CheckVerdict = "fine" | "alert" | "unknown";

/** One windowed rule's latest verdict for a resident. */
export interface RuleCheck {
  rule: string;
  /** null: the rule has not judged this resident yet. */
  verdict: CheckVerdict | null;
  /** Why the rule cannot tell, in English (null for fine and alert). */
  reason: string | null;
  /** The reason as a message key with raw values ("unknown.*"). */
  reason_text?: ServerText | null;
  /** When the rule first gave this verdict with this reason. */
  decided_at: string | null;
  /** The rule's raised alert, when the verdict is alert. */
  alert_id: number | null;
}

/** GET /api/v1/residents/{id}/rule-checks: every windowed rule's latest verdict. */
export interface RuleChecks {
  resident_id: number;
  /** When the rules last judged this resident (null: never). */
  checked_at: string | null;
  checks: RuleCheck[];
}

/** GET /api/v1/sensors/{id}/series */
export interface SensorSeries {
  sensor_id: number;
  kind: string;
  bucket: string;
  timezone: string;
  start: string;
  end: string;
  points: { start: string; count: number; min: number; max: number; avg: number }[];
}
