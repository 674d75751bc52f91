// @vitest-environment happy-dom
// "Today's checks" on the resident page: a rule that cannot tell says so, and why, in the page's
// language; an alert points to its alert; fine ones stay quiet; times are the home's.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api";
import { DashboardController } from "../src/controller";
import { setLocale } from "../src/i18n";
import type { ResidentDetail, RuleChecks } from "../src/types";
import { ResidentPage } from "../src/views/ResidentPage";
import { mountRoot, unmountRoot } from "./dom";
import { json, makeAlert, MemoryStorage } from "./fixtures";
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

function page(locale: "en" | "ko" = "en"): DashboardController {
  const controller: DashboardController = new DashboardController({
    storage: new MemoryStorage(),
    api: new ApiClient({
      fetch: (async (input: RequestInfo | URL) => {
        const url = String(input);
        if (url === "/api/v1/residents/7") return json(200, RESIDENT);
        if (url === "/api/v1/residents/7/rule-checks") {
          return checks ? json(200, checks) : json(500, { error: { code: "internal", message: "down" } });
        }
        if (url.startsWith("/api/v1/alerts?")) {
          return json(200, [makeAlert({ id: 5, resident_id: 7, title: "Out at night", kind: "night_exit" })]);
        }
        return json(404, { error: { code: "not_found", message: "Not found." } });
      }) as typeof fetch,
      getToken: () => "token",
    }),
    connect: (options) => {
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
});

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
    expect(unknown.querySelector(".check__verdict")?.textContent).toBe("Cannot tell");
    expect(unknown.textContent).toContain("hub not known to be online");
    expect(unknown.textContent).toContain("since 08:40"); // 23:40 UTC, the home's morning

    expect(line("inactivity").querySelector(".check__verdict")?.textContent).toBe("Fine");
    expect(line("inactivity").textContent).not.toContain("·"); // fine: nothing more to say
    expect(line("low_temperature").textContent).toContain("Not checked yet");
    expect(checksSection.querySelector(".checks__checked")?.textContent).toContain("09:30");

    // The alert's line leads to the alert in "Recent alerts".
    const alert = line("night_exit");
    expect(alert.querySelector(".check__verdict")?.textContent).toBe("Alert raised");
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
    expect(unknown.querySelector(".check__verdict")?.textContent).toBe("판단할 수 없음");
    expect(unknown.textContent).toContain("허브가 연결되어 있는지 알 수 없음");
    expect(unknown.textContent).not.toContain("hub not known");
    expect(line("inactivity").querySelector(".check__verdict")?.textContent).toBe("이상 없음");
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
