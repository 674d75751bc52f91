// @vitest-environment happy-dom
// "Today's checks" on the resident page: a rule that cannot tell says so, and why, in the page's
// language; an alert points to its alert; fine ones stay quiet; times are the home's. A changed
// check arrives live (`rule_check`) and never gives way to an older one.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api";
import { DashboardController } from "../src/controller";
import { parseRuleCheck } from "../src/events";
import { setLocale } from "../src/i18n";
import type { LiveOptions } from "../src/socket";
import type { ResidentDetail, RuleChecks } from "../src/types";
import { ResidentPage } from "../src/views/ResidentPage";
import { mountRoot, unmountRoot } from "./dom";
import { json, makeAlert, makeLogin, MemoryStorage, ruleCheck } from "./fixtures";
import { waiting } from "./wait";

const NOW = new Date("2026-03-02T00:31:00Z"); // 09:31 in Seoul
const RESIDENT: ResidentDetail = {
  id: 7,
  facility_id: 1,
  full_name: "Kim Young-ja",
  date_of_birth: null,
  video_consent: false,
  home_id: null,
  home_label: null,
  timezone: "Asia/Seoul",
  created_at: "2026-01-01T00:00:00Z",
};
const fine = (rule: string) => ({
  rule,
  verdict: "fine" as const,
  reason: null,
  reason_text: null,
  decided_at: "2026-03-01T12:00:00Z",
  alert_id: null,
});
const CHECKS: RuleChecks = {
  resident_id: 7,
  checked_at: "2026-03-02T00:30:00Z",
  checks: [
    fine("inactivity"),
    fine("long_bathroom_stay"),
    {
      rule: "night_exit",
      verdict: "alert",
      reason: null,
      reason_text: null,
      decided_at: "2026-03-01T17:20:00Z",
      alert_id: 5,
    },
    {
      rule: "no_wake_up",
      verdict: "unknown",
      reason: "hub not known to be online",
      reason_text: { key: "unknown.hub_offline", params: {} },
      decided_at: "2026-03-01T23:40:00Z", // 08:40 in Seoul
      alert_id: null,
    },
    { rule: "low_temperature", verdict: null, reason: null, decided_at: null, alert_id: null },
  ],
};

let root: HTMLElement;
let checks: RuleChecks | null;
/** The live connection's callbacks, once the controller went live (`livePage()`). */
let feed: LiveOptions | null;
/** When set, the rule-checks answer waits for it (an answer read before live events arrived). */
let checksAnswered: Promise<void> | null;
let checksAsked: boolean;

function page(locale: "en" | "ko" = "en"): DashboardController {
  const controller: DashboardController = new DashboardController({
    storage: new MemoryStorage(),
    api: new ApiClient({
      fetch: (async (input: RequestInfo | URL) => {
        const url = String(input);
        if (url === "/api/v1/residents/7") return json(200, RESIDENT);
        if (url === "/api/v1/auth/login") return json(200, makeLogin());
        if (url === "/api/v1/residents/7/rule-checks") {
          const answer = checks && structuredClone(checks); // as read now
          checksAsked = true;
          await checksAnswered;
          return answer ? json(200, answer) : json(500, { error: { code: "internal", message: "down" } });
        }
        if (url.startsWith("/api/v1/alerts?")) {
          return json(200, [makeAlert({ id: 5, resident_id: 7, title: "Out at night", kind: "night_exit" })]);
        }
        return json(404, { error: { code: "not_found", message: "Not found." } });
      }) as typeof fetch,
      getToken: () => "token",
    }),
    connect: (options) => {
      feed = options;
      options.onStatus("connecting");
      return { socket: null as never, close: () => undefined };
    },
  });
  setLocale(locale); // after the controller, which applies the stored preference
  render(
    <ResidentPage controller={controller} state={controller.store.get()} residentId={7} now={NOW} />,
    root,
  );
  return controller;
}

const waitFor = waiting({ everyMs: 10, shown: () => root.textContent });

async function section(): Promise<HTMLElement> {
  return waitFor(
    () =>
      root
        .querySelector<HTMLElement>("[data-testid=rule-checks] ul, [data-testid=rule-checks] p.empty")
        ?.closest("section"),
    "today's checks",
  );
}

function line(rule: string): HTMLElement {
  return root.querySelector<HTMLElement>(`[data-testid=rule-checks] [data-rule=${rule}]`)!;
}

beforeEach(() => {
  root = mountRoot();
  checks = CHECKS;
  feed = null;
  checksAnswered = null;
  checksAsked = false;
});

/** The page of a signed-in carer, whose controller is live and the page listening to it. */
async function livePage(): Promise<LiveOptions> {
  const controller = page();
  expect(await controller.signIn("a@b.c", "pw")).toBeNull();
  await waitFor(() => controller.liveListeners.size > 0, "the page to listen");
  return feed!;
}

function statusOf(rule: string): string | null {
  return line(rule)?.getAttribute("data-status") ?? null;
}

afterEach(() => {
  unmountRoot(root);
  setLocale("en");
});

describe("Today's checks on the resident page", () => {
  it("says which check cannot tell and why, which raised an alert, and keeps fine ones quiet", async () => {
    page();
    const checksSection = await section();
    const title = document.getElementById(checksSection.getAttribute("aria-labelledby")!);
    expect(title?.textContent).toBe("Today's checks");
    const order = [...checksSection.querySelectorAll("[data-rule]")].map((li) =>
      li.getAttribute("data-status"),
    );
    expect(order).toEqual(["alert", "unknown", "notYet", "fine", "fine"]);

    const unknown = line("no_wake_up");
    expect(unknown.textContent).toContain("Not up in the morning");
    expect(unknown.querySelector(".rule-check__verdict")?.textContent).toBe("Cannot tell");
    expect(unknown.textContent).toContain("hub not known to be online");
    expect(unknown.textContent).toContain("since 08:40"); // 23:40 UTC, the home's morning

    expect(line("inactivity").querySelector(".rule-check__verdict")?.textContent).toBe("Fine");
    expect(line("inactivity").textContent).not.toContain("·"); // fine: nothing more to say
    expect(line("low_temperature").textContent).toContain("Not checked yet");
    expect(checksSection.querySelector(".rule-checks__checked")?.textContent).toContain("09:30");

    // The alert's line leads to the alert in "Recent alerts".
    const alert = line("night_exit");
    expect(alert.querySelector(".rule-check__verdict")?.textContent).toBe("Alert raised");
    const go = alert.querySelector("button")!;
    expect(go.getAttribute("aria-label")).toBe("See the alert of Out at night");
    const listed = await waitFor(() => document.getElementById("recent-alert-5"), "the alert in the list");
    go.click();
    expect(document.activeElement).toBe(listed);
    expect(line("no_wake_up").querySelector("button")).toBeNull();
  });

  it("speaks Korean when the page does, the server's reason included", async () => {
    page("ko");
    await section();
    const unknown = line("no_wake_up");
    expect(unknown.textContent).toContain("아침 기상 없음");
    expect(unknown.querySelector(".rule-check__verdict")?.textContent).toBe("판단할 수 없음");
    expect(unknown.textContent).toContain("허브가 연결되어 있는지 알 수 없음");
    expect(unknown.textContent).not.toContain("hub not known");
    expect(line("inactivity").querySelector(".rule-check__verdict")?.textContent).toBe("이상 없음");
  });

  it("says so when the checks never ran, or could not be loaded", async () => {
    checks = { resident_id: 7, checked_at: null, checks: [] };
    page();
    expect((await section()).textContent).toContain("The checks have not run for this resident yet.");
    unmountRoot(root);
    root = mountRoot();
    checks = null;
    page();
    expect((await section()).textContent).toContain("The checks could not be loaded.");
  });
});

describe("a rule_check event", () => {
  it("is read as the backend sends it; a shape the page could not place or order is dropped", () => {
    expect(
      parseRuleCheck({
        event_id: 12,
        resident_id: 7,
        rule: "inactivity",
        verdict: "unknown",
        reason: "no recent data from the home",
        reason_text: { key: "unknown.no_data", params: {} },
        decided_at: "2026-03-02T03:00:00Z",
        alert_id: null,
        checked_at: "2026-03-02T03:00:00+00:00",
      }),
    ).toEqual({
      resident_id: 7,
      rule: "inactivity",
      verdict: "unknown",
      reason: "no recent data from the home",
      reason_text: { key: "unknown.no_data", params: {} },
      decided_at: "2026-03-02T03:00:00Z",
      alert_id: null,
      checked_at: "2026-03-02T03:00:00+00:00",
    });
    const good = { resident_id: 7, rule: "night_exit", verdict: "alert", decided_at: "2026-03-02T03:00:00Z" };
    expect(parseRuleCheck({ ...good, alert_id: 5 })?.alert_id).toBe(5);
    for (const bad of [
      null,
      "rule_check",
      [good],
      { ...good, resident_id: undefined },
      { ...good, resident_id: "7" },
      { ...good, resident_id: 7.5 },
      { ...good, rule: 3 },
      { ...good, rule: "" },
      { ...good, verdict: "maybe" },
      { ...good, verdict: null }, // an event is a decision: never "not judged yet"
      { ...good, decided_at: undefined },
      { ...good, decided_at: "this morning" },
      { ...good, reason: 404 },
    ]) {
      expect(parseRuleCheck(bad)).toBeNull();
    }
  });

  it("changes its rule's line in place; an older check never undoes a newer one", async () => {
    const live = await livePage();
    await section();
    expect(statusOf("no_wake_up")).toBe("unknown");

    // She got up: the rule that could not tell is fine now, and the line says so at once.
    live.onRuleCheck!(ruleCheck({ rule: "no_wake_up", verdict: "fine" }));
    await waitFor(() => statusOf("no_wake_up") === "fine", "the check to turn fine");
    expect(line("no_wake_up").querySelector(".rule-check__verdict")?.textContent).toBe("Fine");
    expect(line("no_wake_up").textContent).not.toContain("hub not known");
    expect(root.querySelector(".rule-checks__checked")?.textContent).toContain("09:35");

    // A late copy of what the rule said before (decided earlier) changes nothing.
    live.onRuleCheck!(
      ruleCheck({
        rule: "no_wake_up",
        verdict: "unknown",
        reason: "hub not known to be online",
        reason_text: { key: "unknown.hub_offline", params: {} },
        decided_at: "2026-03-01T23:40:00Z",
        checked_at: "2026-03-01T23:40:00Z",
      }),
    );
    // Another resident's check is not this page's.
    live.onRuleCheck!(ruleCheck({ resident_id: 8, rule: "inactivity", verdict: "unknown" }));
    // A rule that raised its alert now: its line leads to the alert and goes first.
    live.onRuleCheck!(ruleCheck({ rule: "inactivity", verdict: "alert", alert_id: 5 }));
    await waitFor(() => statusOf("inactivity") === "alert", "the alert check");
    expect(statusOf("no_wake_up")).toBe("fine");
    expect(line("inactivity").querySelector("button")).not.toBeNull();
    const order = [...root.querySelectorAll("[data-testid=rule-checks] [data-rule]")].map((li) =>
      li.getAttribute("data-rule"),
    );
    expect(order.slice(0, 2).sort()).toEqual(["inactivity", "night_exit"]);
    expect(order.at(-1)).toBe("no_wake_up");
  });

  it("that arrives before the page's answer is not undone by it", async () => {
    let answer!: () => void;
    checksAnswered = new Promise<void>((resolve) => (answer = resolve));
    const live = await livePage();
    await waitFor(() => checksAsked, "the checks to be asked for");
    // The page read the checks before the rule changed; the event overtakes the answer.
    live.onRuleCheck!(ruleCheck({ rule: "no_wake_up", verdict: "fine" }));
    answer();
    await section();
    expect(statusOf("no_wake_up")).toBe("fine");
    expect(statusOf("inactivity")).toBe("fine");
  });

  it("is read again with the page after a reconnection that could not replay what was missed", async () => {
    const live = await livePage();
    await section();
    expect(statusOf("no_wake_up")).toBe("unknown");
    // While the page was away the rule decided again; the server's replay was incomplete.
    checks = {
      ...CHECKS,
      checks: CHECKS.checks.map((c) =>
        c.rule === "no_wake_up"
          ? {
              ...c,
              verdict: "fine" as const,
              reason: null,
              reason_text: null,
              decided_at: "2026-03-02T00:50:00Z",
            }
          : c,
      ),
    };
    checksAsked = false;
    live.onResync!();
    await waitFor(() => checksAsked, "the checks to be read again");
    await waitFor(() => statusOf("no_wake_up") === "fine", "the check read again");
  });

  it("keeps live alerts that arrive while the page is read, in the order they came", async () => {
    let answer!: () => void;
    checksAnswered = new Promise<void>((resolve) => (answer = resolve));
    const live = await livePage();
    await waitFor(() => checksAsked, "the page to be read");
    // Read before these: alert 5 open, no alert 9. A new fall, then alert 5 acknowledged.
    live.onAlert(makeAlert({ id: 9, resident_id: 7, title: "Fall", kind: "fall", severity: "critical" }));
    live.onAlert(makeAlert({ id: 5, resident_id: 7, title: "Out at night", state: "acknowledged" }));
    live.onAlert(makeAlert({ id: 11, resident_id: 8, title: "Someone else's fall", kind: "fall" }));
    answer();
    await section();
    const recent = await waitFor(() => root.querySelector("#recent-alert-9"), "the live fall");
    expect(recent.textContent).toContain("Fall");
    expect(root.querySelector("#recent-alert-5")?.textContent).toContain("Being handled");
    expect(root.querySelector("#recent-alert-11")).toBeNull();
    const ids = [...root.querySelectorAll("[id^=recent-alert-]")].map((item) => item.id);
    expect(ids).toEqual(["recent-alert-5", "recent-alert-9"]);
  });
});
