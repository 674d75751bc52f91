// @vitest-environment happy-dom
// The real views and controller in a DOM, with an in-memory backend behind the API client.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api";
import { DashboardController } from "../src/controller";
import type { LiveOptions } from "../src/socket";
import type { Alert, Delivery, TimelineEvent } from "../src/types";
import { formatLocalTime } from "../src/state/format";
import { App } from "../src/views/App";
import { mountRoot, unmountRoot } from "./dom";
import { json, makeAlert, makeLogin, makeResident, MemoryStorage } from "./fixtures";
import { waiting } from "./wait";

const PASSWORD = "correct horse";

class FakeBackend {
  alerts: Alert[] = [
    makeAlert({ id: 1, severity: "low", title: "Fridge door left open" }),
    makeAlert({ id: 2, severity: "high", title: "Unusually long time in bathroom", room: "Bathroom" }),
  ];
  residents = [
    makeResident({ id: 1, full_name: "Ada Byrne", open_alerts: { critical: 0, high: 1, medium: 0, low: 1 } }),
  ];
  tokenValid = true;
  languages: string[] = [];
  timeline: TimelineEvent[] = [
    { at: "2026-03-01T09:00:00Z", action: "raised", details: {} },
    {
      at: "2026-03-01T09:00:05Z",
      action: "paged",
      details: { step: 0, target: "assigned_staff", who: "the assigned staff" },
    },
    {
      at: "2026-03-01T09:20:00Z",
      action: "auto-resolved",
      details: {
        reason: "seen in the Kitchen",
        reason_text: { key: "resolved.seen_in", params: { room: "Kitchen", room_kind: "kitchen" } },
      },
    },
  ];
  deliveries: Delivery[] | undefined = undefined;

  fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    if (url === "/api/v1/auth/login") {
      const body = JSON.parse(String(init?.body)) as { password: string };
      if (body.password !== PASSWORD) {
        return json(401, {
          error: { code: "invalid_credentials", message: "Email or password is not right." },
        });
      }
      return json(200, makeLogin());
    }
    if (!this.tokenValid) return json(401, { error: { code: "invalid_token", message: "Token expired." } });
    if (url === "/api/v1/residents") return json(200, this.residents);
    const detail = /^\/api\/v1\/alerts\/(\d+)$/.exec(url);
    if (detail && method === "GET") {
      const alert = this.alerts.find((a) => a.id === Number(detail[1]))!;
      return json(200, { ...alert, escalation: null, timeline: this.timeline, deliveries: this.deliveries });
    }
    if (url === "/api/v1/me/language" && method === "PUT") {
      const { language } = JSON.parse(String(init?.body)) as { language: string };
      this.languages.push(language);
      return json(200, { ...makeLogin().user, language });
    }
    if (url.startsWith("/api/v1/alerts?")) return json(200, this.alerts);
    const action = /^\/api\/v1\/alerts\/(\d+)\/(acknowledge|resolve)$/.exec(url);
    if (action && method === "POST") {
      const alert = this.alerts.find((a) => a.id === Number(action[1]))!;
      const changed = { ...alert, state: action[2] === "acknowledge" ? "acknowledged" : "resolved" } as Alert;
      this.alerts = this.alerts.map((a) => (a.id === changed.id ? changed : a));
      return json(200, changed);
    }
    return json(404, { error: { code: "not_found", message: "Not found." } });
  }) as typeof fetch;
}

let backend: FakeBackend;
let live: LiveOptions | null;
let controller: DashboardController;
let root: HTMLElement;

beforeEach(() => {
  backend = new FakeBackend();
  live = null;
  const storage = new MemoryStorage();
  controller = new DashboardController({
    storage,
    api: new ApiClient({
      fetch: backend.fetch,
      getToken: () => controller.store.get().session?.token ?? null,
      onUnauthorized: () => controller.signOut("Your session has ended. Please sign in again."),
    }),
    connect: (options) => {
      live = options;
      options.onStatus("connecting");
      return { socket: null as never, close: () => undefined };
    },
  });
  root = mountRoot();
  render(<App controller={controller} />, root);
});

afterEach(() => unmountRoot(root));

const waitFor = waiting({ everyMs: 10 });

function type(input: HTMLInputElement | HTMLTextAreaElement, value: string) {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

function button(label: string, scope: ParentNode = root): HTMLButtonElement | undefined {
  return [...scope.querySelectorAll("button")].find((b) => b.textContent?.trim() === label);
}

async function signIn(password = PASSWORD) {
  const email = await waitFor(() => root.querySelector<HTMLInputElement>("#login-email"), "login form");
  type(email, "carer@example.org");
  type(root.querySelector<HTMLInputElement>("#login-password")!, password);
  button("Sign in")!.click();
}

function alertTitles(): string[] {
  return [...root.querySelectorAll(".alert__title")].map((el) => el.textContent ?? "");
}

describe("dashboard views", () => {
  it("labels the login fields and shows the server's error message", async () => {
    await signIn("wrong");
    const error = await waitFor(() => root.querySelector('[role="alert"]#login-error'), "error");
    expect(error.textContent).toBe("Email or password is not right.");
    expect(root.querySelector('label[for="login-email"]')?.textContent).toBe("Email");
    expect(root.querySelector('label[for="login-password"]')?.textContent).toBe("Password");
  });

  it("shows residents and alerts sorted by need after sign-in", async () => {
    await signIn();
    await waitFor(() => alertTitles().length === 2, "alerts");
    expect(alertTitles()).toEqual(["Unusually long time in bathroom", "Fridge door left open"]);
    expect(root.querySelector(".topbar__name")?.textContent).toBe("Sam Carer");
    expect(root.querySelector(".resident__name")?.textContent).toBe("Ada Byrne");
    expect(root.querySelector(".resident__counts")?.getAttribute("aria-label")).toBe("1 high, 1 low");
  });

  it("puts a live critical alert on top, highlighted and announced", async () => {
    await signIn();
    await waitFor(() => alertTitles().length === 2 && live, "alerts");
    live!.onStatus("connected");
    live!.onAlert(makeAlert({ id: 3, severity: "critical", title: "Possible fall", room: "Hallway" }));
    await waitFor(() => alertTitles()[0] === "Possible fall", "critical alert on top");
    const card = root.querySelector(".alerts__list li:first-child article")!;
    expect(card.classList.contains("alert--fresh")).toBe(true);
    expect(card.textContent).toContain("New");
    const announcer = document.querySelector('[data-testid="announce-assertive"]')!;
    expect(announcer.textContent).toBe("Critical alert for Ada Byrne in Hallway: Possible fall.");
    await waitFor(() => document.title === "(1) SST care dashboard", "urgent count in the title");
  });

  it("shows a live alert's title, explanation and banner in Korean from its structured text", async () => {
    await signIn();
    await waitFor(() => alertTitles().length === 2 && live, "alerts");
    controller.setPrefs({ locale: "ko" });
    const params = { room: "Bathroom", room_kind: "bathroom", time: "14:03", name: "Ada Byrne" };
    live!.onAlert(
      makeAlert({
        id: 4,
        severity: "critical",
        kind: "fall",
        title: "Fall detected in the Bathroom",
        explanation:
          "Fall detected in the Bathroom at 14:03 (home time). Check on Ada Byrne now: call, or send someone.",
        room: "Bathroom",
        text: {
          title: { key: "alert.fall.title", params },
          explanation: { key: "alert.fall.explanation", params },
        },
      }),
    );
    await waitFor(() => alertTitles()[0] === "낙상 감지: 욕실", "the Korean title");
    const card = root.querySelector(".alerts__list li:first-child article")!;
    expect(card.querySelector(".alert__explanation")?.textContent).toBe(
      "14:03(집 시각)에 욕실에서 낙상이 감지되었습니다. 지금 Ada Byrne 님을 확인하세요: 전화하거나 사람을 보내세요.",
    );
    expect(document.querySelector('[data-testid="critical-banner"]')?.textContent).toContain(
      "낙상 감지: 욕실",
    );
    // An alert without a structured text keeps the server's English words; its room, a
    // standard name, is shown in Korean all the same.
    expect(alertTitles()).toContain("Unusually long time in bathroom");
    expect([...root.querySelectorAll(".alert__meta span:first-of-type")].map((s) => s.textContent)).toContain(
      "욕실",
    );
    // The choice is also the language of this user's e-mails and pushes, saved once.
    await waitFor(() => backend.languages.length === 1, "the language saved on the server");
    expect(backend.languages).toEqual(["ko"]);
    controller.setPrefs({ locale: "en" });
    await waitFor(() => alertTitles()[0] === "Fall detected in the Bathroom", "back in English");
    await waitFor(() => backend.languages.length === 2, "English saved again");
    expect(backend.languages).toEqual(["ko", "en"]);
  });

  it("shows the timeline's system words (who was told, why it resolved itself) in Korean", async () => {
    await signIn();
    await waitFor(() => alertTitles().length === 2, "alerts");
    button("Details and timeline")!.click();
    const items = () => [...root.querySelectorAll(".alert__timeline li")].map((li) => li.textContent ?? "");
    await waitFor(() => items().length === 3, "the timeline");
    expect(items()[1]).toContain("told: the assigned staff");
    expect(items()[2]).toContain("resolved automatically · seen in the Kitchen");
    controller.setPrefs({ locale: "ko" });
    await waitFor(() => items()[2]?.includes("자동 해결됨 · 주방에서 보임"), "Korean reason");
    expect(items()[1]).toContain("알린 대상: 담당 직원");
    controller.setPrefs({ locale: "en" });
  });

  it("says who was notified, on which channel and how it went, in English and Korean", async () => {
    backend.timeline = [
      { at: "2026-03-01T09:00:00Z", action: "raised", details: {} },
      {
        at: "2026-03-01T09:00:02Z",
        action: "notified",
        details: { channel: "email", recipient: "Kim Minji", recipient_user_id: 7, attempts: 1 },
      },
      {
        at: "2026-03-01T09:00:03Z",
        action: "notification_failed",
        details: { channel: "webhook", recipient: "Lee Jun", attempts: 1, error: "webhook answered 401" },
      },
    ];
    const base = { purpose: "alert", queued_at: "2026-03-01T09:00:01Z" };
    backend.deliveries = [
      {
        ...base,
        id: 1,
        channel: "email",
        recipient: "Kim Minji",
        outcome: "sent",
        attempts: 1,
        sent_at: "2026-03-01T09:00:02Z",
      },
      {
        ...base,
        id: 2,
        channel: "push",
        recipient: "Kim Minji",
        outcome: "retrying",
        attempts: 2,
        error: "push service answered 503",
        next_retry_at: "2026-03-01T09:05:00Z",
      },
      {
        ...base,
        id: 3,
        channel: "webhook",
        recipient: "Lee Jun",
        outcome: "failed",
        attempts: 1,
        error: "webhook answered 401",
      },
      { ...base, id: 4, channel: "in_app", recipient: "Lee Jun", outcome: "waiting", attempts: 0 },
    ];
    await signIn();
    await waitFor(() => alertTitles().length === 2, "alerts");
    button("Details and timeline")!.click();
    const steps = () =>
      [...root.querySelectorAll(".alert__timeline ol li")].map((li) => li.textContent ?? "");
    const sent = () => [...root.querySelectorAll(".alert__deliveries li")].map((li) => li.textContent ?? "");
    await waitFor(() => sent().length === 4, "the deliveries");
    expect(steps()[1]).toContain("notified · Kim Minji · e-mail");
    expect(steps()[2]).toContain("notification failed · Lee Jun · webhook · webhook answered 401");
    // Times are the home's wall clock, formatted as everywhere else on the page.
    const at = (iso: string) => formatLocalTime(iso, "Europe/London", new Date());
    expect(sent()).toEqual([
      `Kim Minji · e-mail · sent at ${at("2026-03-01T09:00:02Z")}`,
      `Kim Minji · push · retrying (attempts so far: 2), next try at ${at("2026-03-01T09:05:00Z")} · push service answered 503`,
      "Lee Jun · webhook · failed (attempts: 1) · webhook answered 401",
      "Lee Jun · in-app · waiting to be sent",
    ]);
    expect(root.querySelector(".delivery--failed")?.textContent).toContain("Lee Jun");
    controller.setPrefs({ locale: "ko" });
    await waitFor(() => sent()[0]?.includes("이메일"), "Korean deliveries");
    expect(sent()).toEqual([
      `Kim Minji · 이메일 · ${at("2026-03-01T09:00:02Z")}에 전송됨`,
      `Kim Minji · 푸시 알림 · 재시도 중 (지금까지 2회 시도), 다음 시도 ${at("2026-03-01T09:05:00Z")} · push service answered 503`,
      "Lee Jun · 웹훅 · 전송 실패 (1회 시도) · webhook answered 401",
      "Lee Jun · 앱 알림 · 전송 대기 중",
    ]);
    expect(steps()[1]).toContain("알림 보냄 · Kim Minji · 이메일");
    controller.setPrefs({ locale: "en" });
  });

  it("says so when nobody has been notified yet", async () => {
    backend.deliveries = [];
    await signIn();
    await waitFor(() => alertTitles().length === 2, "alerts");
    button("Details and timeline")!.click();
    const timeline = await waitFor(() => root.querySelector(".alert__timeline ol"), "the timeline");
    expect(timeline.parentElement?.textContent).toContain("Nobody has been notified yet.");
  });

  it("shows a reconnecting banner while live updates are down", async () => {
    await signIn();
    await waitFor(() => live, "live connection");
    live!.onStatus("reconnecting");
    const banner = await waitFor(() => root.querySelector(".banner--warning"), "banner");
    expect(banner.textContent).toContain("Live updates are interrupted");
    live!.onStatus("connected");
    await waitFor(() => root.querySelector(".banner--warning") === null, "banner gone");
  });

  it("acknowledges, then resolves with a required note", async () => {
    await signIn();
    await waitFor(() => alertTitles().length === 2, "alerts");
    const first = root.querySelector<HTMLElement>('[data-alert-id="2"]')!;
    button("Acknowledge", first)!.click();
    await waitFor(
      () => root.querySelector('[data-alert-id="2"] .alert__state')?.textContent === "Being handled",
      "ack",
    );
    expect(backend.alerts.find((a) => a.id === 2)?.state).toBe("acknowledged");

    const card = () => root.querySelector<HTMLElement>('[data-alert-id="2"]')!;
    button("Resolve…", card())!.click();
    const note = await waitFor(() => card().querySelector("textarea"), "note field");
    button("Resolve alert", card())!.click();
    await waitFor(() => card().querySelector('[role="alert"]'), "note required");
    expect(backend.alerts.find((a) => a.id === 2)?.state).toBe("acknowledged");

    type(note, "Visited; she was fine, door was stuck.");
    button("Resolve alert", card())!.click();
    await waitFor(() => root.querySelector('[data-alert-id="2"]') === null, "resolved alert gone");
    expect(backend.alerts.find((a) => a.id === 2)?.state).toBe("resolved");
  });

  it("sends the user back to the login form on a 401", async () => {
    await signIn();
    await waitFor(() => alertTitles().length === 2, "alerts");
    backend.tokenValid = false;
    button("Acknowledge", root.querySelector<HTMLElement>('[data-alert-id="2"]')!)!.click();
    await waitFor(() => root.querySelector("#login-email"), "login form");
    expect(root.textContent).toContain("Your session has ended");
  });
});
