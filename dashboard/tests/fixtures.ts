// Builders of API objects for the tests.
import { expect } from "vitest";
import { parseRuleCheck, type RuleCheckPayload } from "../src/events";
import type { Alert, LoginResponse, Resident, User } from "../src/types";

let nextId = 1000;

export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  const id = overrides.id ?? nextId++;
  return {
    id,
    resident_id: 1,
    facility_id: 1,
    kind: "inactivity",
    severity: "medium",
    state: "open",
    title: `Alert ${id}`,
    explanation: "No movement seen in the kitchen since 07:00, usually active by 08:00.",
    count: 1,
    opened_at: "2026-03-03T08:00:00Z",
    last_seen_at: "2026-03-03T08:00:00Z",
    sensor_id: 5,
    room: "Kitchen",
    ...overrides,
  };
}

export function makeResident(overrides: Partial<Resident> = {}): Resident {
  return {
    id: 1,
    full_name: "Margaret Holloway",
    facility_id: 1,
    home_id: 1,
    timezone: "Europe/London",
    open_alerts: { critical: 0, high: 0, medium: 0, low: 0 },
    ...overrides,
  };
}

export const USER: User = {
  id: 7,
  email: "carer@example.org",
  full_name: "Sam Carer",
  role: "staff",
  facility_id: 1,
};

export function makeLogin(overrides: Partial<LoginResponse> = {}): LoginResponse {
  return { access_token: "token-1", token_type: "bearer", expires_in: 3600, user: USER, ...overrides };
}

/** An in-memory Storage, as sessionStorage behaves within one tab. */
export class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

/** A JSON response as the backend sends it. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A rule_check as the backend sends it (docs/realtime.md), parsed as the socket does. */
export function ruleCheck(fields: Partial<Record<keyof RuleCheckPayload, unknown>>): RuleCheckPayload {
  const parsed = parseRuleCheck({
    event_id: 90,
    resident_id: 7,
    rule: "no_wake_up",
    verdict: "fine",
    reason: null,
    reason_text: null,
    decided_at: "2026-03-02T00:35:00Z",
    alert_id: null,
    checked_at: "2026-03-02T00:35:00Z",
    ...fields,
  });
  expect(parsed).not.toBeNull();
  return parsed!;
}
