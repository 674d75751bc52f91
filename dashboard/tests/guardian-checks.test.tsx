// @vitest-environment happy-dom
// "Today's checks" on the guardian's phone: one sentence on the day first (all is well, SST cannot
// see the home, staff were alerted), then each check in a family's words, in the home's time; a
// `rule_check` changes it live, an answer on its way does not undo a newer event, and a
// reconnection that could not replay what was missed reads the checks again.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiClient } from "../src/api";
import { DashboardController } from "../src/controller";
import { setLocale } from "../src/i18n";
import type { LiveOptions } from "../src/socket";
import { dayOutlook } from "../src/state/ruleChecks";
import type { RuleCheck, RuleChecks } from "../src/types";
import { GuardianView } from "../src/views/GuardianView";
import { useStoreState } from "../src/views/hooks";
import { mountRoot, unmountRoot } from "./dom";
import { json, makeLogin, makeResident, MemoryStorage, ruleCheck, USER } from "./fixtures";
import { waiting } from "./wait";

const NOW = new Date("2026-03-02T00:31:00Z"); // 09:31 in Seoul
const MOTHER = makeResident({ id: 7, full_name: "Kim Young-ja", timezone: "Asia/Seoul" });
const FATHER = makeResident({ id: 9, full_name: "Park Jin-ho", timezone: "Europe/London" });

const fine = (rule: string, decided_at = "2026-03-01T12:00:00Z"): RuleCheck => ({
  rule,
  verdict: "fine",
  reason: null,
  reason_text: null,
  decided_at,
  alert_id: null,
});
const hubAway: RuleCheck = {
  rule: "no_wake_up",
  verdict: "unknown",
  reason: "hub not known to be online",
  reason_text: { key: "unknown.hub_offline", params: {} },
  decided_at: "2026-03-01T23:40:00Z", // 08:40 in Seoul
  alert_id: null,
};
const MOTHER_CHECKS: RuleChecks = {
  resident_id: 7,
  checked_at: "2026-03-02T00:30:00Z", // 09:30 in Seoul
  checks: [fine("inactivity"), fine("long_bathroom_stay"), hubAway, fine("low_temperature")],
};
const FATHER_CHECKS: RuleChecks = {
  resident_id: 9,
  checked_at: "2026-03-02T00:30:00Z",
  checks: [fine("inactivity"), fine("no_wake_up")],
};

let root: HTMLElement;
/** What the server answers for each resident's checks now (null: a server error). */
let answers: Map<number, RuleChecks | null>;
let asked: Map<number, number>;
/** When set, the checks' answers wait for it (read before, delivered after live events). */
let answered: Promise<void> | null;
let feed: LiveOptions | null;
let residents: (typeof MOTHER)[];

function Page({ controller }: { controller: DashboardController }) {
  const state = useStoreState(controller.store);
  return <GuardianView controller={controller} state={state} />;
}

async function guardianPage(locale: "en" | "ko" = "en"): Promise<LiveOptions> {
  const controller = new DashboardController({
    storage: new MemoryStorage(),
    api: new ApiClient({
      fetch: (async (input: RequestInfo | URL) => {
        const url = String(input);
        if (url === "/api/v1/auth/login")
          return json(200, makeLogin({ user: { ...USER, role: "guardian" } }));
        if (url === "/api/v1/residents") return json(200, residents);
        if (url.startsWith("/api/v1/alerts")) return json(200, []);
        const checks = /^\/api\/v1\/residents\/(\d+)\/rule-checks$/.exec(url);
        if (checks) {
          const id = Number(checks[1]);
          if (!answers.has(id)) return json(404, { error: { code: "not_found", message: "Not found." } });
          const answer = answers.get(id) && structuredClone(answers.get(id)); // as read now
          asked.set(id, (asked.get(id) ?? 0) + 1);
          await answered;
          return answer ? json(200, answer) : json(500, { error: { code: "internal", message: "down" } });
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
  setLocale(locale);
  render(<Page controller={controller} />, root);
  expect(await controller.signIn("daughter@example.org", "pw")).toBeNull();
  await waitFor(() => feed, "the live connection");
  return feed!;
}

const waitFor = waiting({ everyMs: 10, shown: () => root.textContent });

function checksOf(residentId: number): HTMLElement | null {
  return root.querySelector<HTMLElement>(`[data-testid=rule-checks][data-resident="${residentId}"]`);
}

async function shown(residentId: number): Promise<HTMLElement> {
  return waitFor(
    () => checksOf(residentId)?.querySelector("[data-outlook]") && checksOf(residentId),
    "the checks",
  );
}

function outlookOf(residentId: number): string | null {
  return checksOf(residentId)?.querySelector("[data-outlook]")?.getAttribute("data-outlook") ?? null;
}

function line(residentId: number, rule: string): HTMLElement {
  return checksOf(residentId)!.querySelector<HTMLElement>(`[data-rule=${rule}]`)!;
}

beforeEach(() => {
  // The page's clock only (timers stay real): "since 08:40" is today's, not a date's.
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW);
  root = mountRoot();
  answers = new Map([
    [7, MOTHER_CHECKS],
    [9, FATHER_CHECKS],
  ]);
  asked = new Map();
  answered = null;
  feed = null;
  residents = [MOTHER];
});

afterEach(() => {
  unmountRoot(root);
  setLocale("en");
  vi.useRealTimers();
});

describe("the day as a whole, for a family", () => {
  const day = (checks: RuleCheck[], checked_at: string | null = "2026-03-02T00:30:00Z") =>
    dayOutlook({ resident_id: 7, checked_at, checks });
  it("never reads 'all is well' when SST cannot see, and an alert outweighs everything", () => {
    expect(day([fine("inactivity"), fine("no_wake_up")])).toBe("fine");
    expect(day([fine("inactivity"), { ...fine("no_wake_up"), verdict: null, decided_at: null }])).toBe(
      "fineSoFar",
    );
    expect(day([fine("inactivity"), hubAway])).toBe("unknown");
    expect(day([hubAway, { ...fine("night_exit"), verdict: "alert", alert_id: 5 }])).toBe("alert");
    expect(day([], null)).toBe("none");
    expect(day([{ ...hubAway, verdict: null }])).toBe("none");
  });
});

describe("Today's checks on the guardian's phone", () => {
  it("says first that SST cannot see the home, then each check in a family's words", async () => {
    await guardianPage();
    const checks = await shown(7);
    const title = document.getElementById(checks.getAttribute("aria-labelledby")!);
    expect(title?.textContent).toBe("Today's checks");
    const outlook = checks.querySelector("[data-outlook]")!;
    expect(outlook.getAttribute("role")).toBe("status");
    expect(outlook.textContent).toBe(
      "SST cannot fully see Kim Young-ja's home right now, so some checks cannot tell whether all is well.",
    );
    // What cannot tell comes first, with why and since when in the home's time (Seoul).
    expect(checks.querySelector("[data-rule]")?.getAttribute("data-rule")).toBe("no_wake_up");
    const away = line(7, "no_wake_up");
    expect(away.textContent).toContain("Up in the morning: Can't tell right now");
    expect(away.textContent).toContain("SST cannot reach the home's hub");
    expect(away.textContent).not.toContain("hub not known to be online"); // staff words
    expect(away.textContent).toContain("since 08:40");
    expect(line(7, "inactivity").textContent).toBe("✓ Moving about at home: All well");
    expect(checks.querySelector(".rule-checks__checked")?.textContent).toContain("09:30");
    expect(checks.querySelector("button")).toBeNull();
  });

  it("is calm when all is well, and clear when staff were alerted", async () => {
    answers.set(7, { ...MOTHER_CHECKS, checks: MOTHER_CHECKS.checks.map((c) => fine(c.rule)) });
    residents = [MOTHER, FATHER];
    await guardianPage();
    await shown(7);
    expect(outlookOf(7)).toBe("fine");
    expect(checksOf(7)!.querySelector("[data-outlook]")?.textContent).toBe(
      "All is well: every check today is fine.",
    );
    // Each resident has their own checks, under a heading of their own.
    await shown(9);
    const headings = [...root.querySelectorAll("[data-testid=rule-checks]")].map((s) =>
      s.getAttribute("aria-labelledby"),
    );
    expect(new Set(headings).size).toBe(2);

    unmountRoot(root);
    root = mountRoot();
    feed = null;
    answers.set(7, {
      ...MOTHER_CHECKS,
      checks: [
        ...MOTHER_CHECKS.checks,
        { ...fine("night_exit", "2026-03-01T17:20:00Z"), verdict: "alert", alert_id: 5 },
      ],
    });
    residents = [MOTHER];
    await guardianPage();
    await shown(7);
    expect(outlookOf(7)).toBe("alert");
    expect(checksOf(7)!.querySelector("[data-outlook]")?.textContent).toBe(
      "Something needs attention: the care staff have been alerted.",
    );
    const alerted = line(7, "night_exit");
    expect(alerted.textContent).toContain("Front door at night: Staff alerted");
    expect(alerted.textContent).toContain("since 02:20"); // 17:20 UTC, the night in Seoul
  });

  it("speaks Korean when the page does", async () => {
    await guardianPage("ko");
    await shown(7);
    expect(checksOf(7)!.querySelector("h2")?.textContent).toBe("오늘의 확인");
    expect(checksOf(7)!.querySelector("[data-outlook]")?.textContent).toContain(
      "Kim Young-ja 님 댁을 다 볼 수 없어",
    );
    const away = line(7, "no_wake_up");
    expect(away.textContent).toContain("아침 기상: 지금은 알 수 없음");
    expect(away.textContent).toContain("SST가 댁의 허브와 연결되지 않음");
    expect(line(7, "inactivity").querySelector(".rule-check__verdict")?.textContent).toBe("괜찮음");
  });

  it("says so when the checks never ran, or could not be read", async () => {
    answers.set(7, { resident_id: 7, checked_at: null, checks: [] });
    await guardianPage();
    expect((await shown(7)).textContent).toContain("SST has not checked on Kim Young-ja's home yet.");
    expect(checksOf(7)!.querySelector("ul")).toBeNull();
    unmountRoot(root);
    root = mountRoot();
    feed = null;
    answers.set(7, null);
    await guardianPage();
    await waitFor(
      () => root.textContent?.includes("The checks could not be loaded."),
      "the failure in words",
    );
    expect(checksOf(7)?.querySelector("[data-outlook]") ?? null).toBeNull();
  });
});

describe("the guardian's checks, live", () => {
  it("change in place when a rule_check comes; another resident's or an older one changes nothing", async () => {
    const live = await guardianPage();
    await shown(7);
    // The hub is back and she got up: the day reads "all is well" without a reload.
    live.onRuleCheck!(ruleCheck({ rule: "no_wake_up", verdict: "fine" }));
    await waitFor(() => outlookOf(7) === "fine", "the day to turn fine");
    expect(line(7, "no_wake_up").textContent).toBe("✓ Up in the morning: All well");
    expect(checksOf(7)!.querySelector(".rule-checks__checked")?.textContent).toContain("09:35");
    // A late copy of the earlier check, and another resident's check: nothing changes.
    live.onRuleCheck!(
      ruleCheck({
        rule: "no_wake_up",
        verdict: "unknown",
        reason_text: { key: "unknown.hub_offline", params: {} },
        decided_at: "2026-03-01T23:40:00Z",
      }),
    );
    live.onRuleCheck!(ruleCheck({ resident_id: 8, rule: "inactivity", verdict: "unknown" }));
    // Then the sensors go quiet: the sentence says SST cannot see, with why.
    live.onRuleCheck!(
      ruleCheck({
        rule: "inactivity",
        verdict: "unknown",
        reason: "no recent data from the home",
        reason_text: { key: "unknown.no_data", params: {} },
        decided_at: "2026-03-02T00:40:00Z",
      }),
    );
    await waitFor(() => outlookOf(7) === "unknown", "the day to say SST cannot see");
    expect(line(7, "no_wake_up").getAttribute("data-status")).toBe("fine");
    expect(line(7, "inactivity").textContent).toContain("no recent signals from the home's sensors");
    expect(asked.get(7)).toBe(1); // live, not read again
  });

  it("that arrives while the answer is on its way is not undone by it", async () => {
    let answer!: () => void;
    answered = new Promise<void>((resolve) => (answer = resolve));
    const live = await guardianPage();
    await waitFor(() => asked.get(7), "the checks to be asked for");
    live.onRuleCheck!(ruleCheck({ rule: "no_wake_up", verdict: "fine" }));
    answer();
    await shown(7);
    expect(line(7, "no_wake_up").getAttribute("data-status")).toBe("fine");
    expect(outlookOf(7)).toBe("fine");
  });

  it("are read again after a reconnection that could not replay what was missed", async () => {
    const live = await guardianPage();
    await shown(7);
    expect(outlookOf(7)).toBe("unknown");
    // While the phone was away the hub came back; the server's replay was incomplete.
    answers.set(7, {
      ...MOTHER_CHECKS,
      checks: MOTHER_CHECKS.checks.map((c) => fine(c.rule, "2026-03-02T00:50:00Z")),
    });
    live.onResync!();
    await waitFor(() => outlookOf(7) === "fine", "the checks read again");
    expect(asked.get(7)).toBe(2);
    // A re-read that fails does not leave old checks looking current.
    answers.set(7, null);
    live.onResync!();
    await waitFor(
      () => root.textContent?.includes("The checks could not be loaded."),
      "the failure in words",
    );
  });
});
