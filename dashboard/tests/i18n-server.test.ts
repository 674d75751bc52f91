// Texts the server writes, shown in the page's language: the catalogs against the server's key
// list (tests/server-texts.json, written by `uv run python -m sst_core.texts_export`), rendering
// in English and Korean, and the fallback to the server's English words.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../src/i18n";
import { en } from "../src/i18n/en";
import { ko } from "../src/i18n/ko";
import {
  alertExplanation,
  alertTitle,
  SERVER_TEXT_FORMATS,
  serverWords,
  type ServerText,
} from "../src/i18n/server";
import { summaryWords } from "../src/state/format";
import { riskWhy } from "../src/state/risk";
import type { DaySummaryText, ResidentRisk } from "../src/types";
import { makeAlert } from "./fixtures";

interface ServerCatalog {
  templates: Record<string, string>;
  ko_templates: Record<string, string>;
  formats: string[];
  samples: { text: ServerText; en: string; ko: string }[];
  rules: Record<string, { description: string; params: Record<string, number> }>;
}

const server = JSON.parse(
  readFileSync(new URL("./server-texts.json", import.meta.url), "utf8"),
) as ServerCatalog;
const FALLBACK = "<the server's English>";

const placeholders = (template: string) =>
  [...template.matchAll(/\{(\w+)(?::(\w+))?\}/g)].map((m) => ({ name: m[1]!, format: m[2] }));
const names = (template: string) => [...new Set(placeholders(template).map((p) => p.name))].sort();
const textKeys = (catalog: Record<string, string>) =>
  Object.keys(catalog)
    .filter((k) => k.startsWith("text."))
    .map((k) => k.slice("text.".length))
    .sort();

afterEach(() => setLocale("en"));

describe("the catalogs of server texts", () => {
  it("hold every key the server can emit, and no other, in English and Korean", () => {
    const keys = Object.keys(server.templates).sort();
    expect(keys.length).toBeGreaterThan(50);
    expect(textKeys(en)).toEqual(keys);
    expect(textKeys(ko)).toEqual(keys);
  });

  it("have in en.ts the server's very English templates", () => {
    const catalog: Record<string, string> = en;
    for (const [key, template] of Object.entries(server.templates)) {
      expect(catalog[`text.${key}`], key).toBe(template);
    }
  });

  it("use the same parameters in Korean, with formats the page knows", () => {
    const koCatalog: Record<string, string> = ko;
    for (const key of Object.keys(server.templates)) {
      const koTemplate = koCatalog[`text.${key}`]!;
      expect(names(koTemplate), key).toEqual(names(server.templates[key]!));
      for (const { format } of [...placeholders(koTemplate), ...placeholders(server.templates[key]!)]) {
        if (format !== undefined) expect(SERVER_TEXT_FORMATS, `${key}: ${format}`).toContain(format);
      }
    }
    for (const format of server.formats) expect(SERVER_TEXT_FORMATS).toContain(format);
  });

  it("render every sample exactly as the server's English", () => {
    expect(server.samples.length).toBeGreaterThan(100);
    for (const { text, en: english } of server.samples) {
      expect(serverWords(text, FALLBACK, "en"), text.key).toBe(english);
    }
  });

  it("have in ko.ts the server's very Korean templates (what its e-mails and pushes say)", () => {
    const catalog: Record<string, string> = ko;
    expect(Object.keys(server.ko_templates).sort()).toEqual(Object.keys(server.templates).sort());
    for (const [key, template] of Object.entries(server.ko_templates)) {
      expect(catalog[`text.${key}`], key).toBe(template);
    }
  });

  it("render every sample in Korean exactly as the server's Korean", () => {
    for (const { text, ko: korean } of server.samples) {
      expect(serverWords(text, FALLBACK, "ko"), text.key).toBe(korean);
    }
  });

  it("render every sample in Korean, without falling back or leaving a placeholder", () => {
    for (const { text } of server.samples) {
      const korean = serverWords(text, FALLBACK, "ko");
      expect(korean, text.key).not.toBe(FALLBACK);
      expect(korean, text.key).not.toMatch(/\{\w+(:\w+)?\}/);
    }
  });
});

const room = { room: "Bathroom", room_kind: "bathroom", time: "14:03", name: "Kim Young-ja" };
const fall = makeAlert({
  kind: "fall",
  title: "Fall detected in the Bathroom",
  explanation:
    "Fall detected in the Bathroom at 14:03 (home time). Check on Kim Young-ja now: call, or send someone.",
  text: {
    title: { key: "alert.fall.title", params: room },
    explanation: { key: "alert.fall.explanation", params: room },
  },
});

describe("the thresholds editor's words", () => {
  it("name and describe every tunable rule and parameter in both languages", () => {
    const enCatalog: Record<string, string> = en;
    const koCatalog: Record<string, string> = ko;
    expect(Object.keys(server.rules).length).toBeGreaterThan(5);
    for (const [rule, { description, params }] of Object.entries(server.rules)) {
      // The server's description is the English one: a changed rule shows up here.
      expect(enCatalog[`rule.${rule}.description`], rule).toBe(description);
      for (const key of [
        `rule.${rule}.name`,
        `rule.${rule}.description`,
        ...Object.keys(params).map((p) => `param.${p}`),
      ]) {
        expect(enCatalog[key], key).toBeTruthy();
        expect(koCatalog[key], key).toBeTruthy();
        expect(koCatalog[key], key).not.toBe(enCatalog[key]);
      }
    }
  });
});

describe("server texts in the page's language", () => {
  it("show a fall in Korean, the room's standard name translated", () => {
    setLocale("ko");
    expect(alertTitle(fall)).toBe("낙상 감지: 욕실");
    expect(alertExplanation(fall)).toBe(
      "14:03(집 시각)에 욕실에서 낙상이 감지되었습니다. 지금 Kim Young-ja 님을 확인하세요: 전화하거나 사람을 보내세요.",
    );
    setLocale("en");
    expect(alertTitle(fall)).toBe("Fall detected in the Bathroom");
  });

  it("keep a room name of the home's own as it is", () => {
    const own = { ...room, room: "Grandma's room", room_kind: "bedroom" };
    expect(serverWords({ key: "alert.fall.title", params: own }, FALLBACK, "ko")).toBe(
      "낙상 감지: Grandma's room",
    );
    expect(serverWords({ key: "alert.fall.title", params: { ...own, room: null } }, FALLBACK, "ko")).toBe(
      "낙상 감지: 방 미지정",
    );
  });

  it("format durations, times and dates in the chosen language", () => {
    const inactivity: ServerText = { key: "alert.inactivity.title", params: { name: "Kim", for_min: 200 } };
    expect(serverWords(inactivity, FALLBACK, "en")).toBe("No movement at Kim's home for 3 h 20 min");
    expect(serverWords(inactivity, FALLBACK, "ko")).toBe("Kim 님 댁에서 3시간 20분 동안 움직임 없음");
    const offline: ServerText = {
      key: "alert.hub_offline.explanation",
      params: {
        name: "Kim",
        what: {
          key: "alert.hub_offline.lost",
          params: { when: { key: "clock.day", params: { date: "2026-09-03", time: "23:50" } } },
        },
      },
    };
    expect(serverWords(offline, FALLBACK, "en")).toBe(
      "The hub in Kim's home lost its connection at 3 Sep 23:50 (home time); sensors there are not watching. Check the power and the internet connection.",
    );
    expect(serverWords(offline, FALLBACK, "ko")).toContain("9월 3일 23:50(집 시각)에 연결이 끊겼습니다");
  });

  it("show a night exit, and a routine risk with each deviation in Korean", () => {
    const night: ServerText = {
      key: "alert.night_exit.explanation",
      params: { name: "Kim", time: "02:10", for_min: 35, limit: 20 },
    };
    expect(serverWords(night, FALLBACK, "ko")).toBe(
      "현관문이 02:10(밤)에 열린 뒤 집 안에 움직임이 없습니다(35분). Kim 님은 20분 안에 돌아와야 합니다. 전화하거나 사람을 보내 찾아보세요.",
    );
    const why: ServerText = {
      key: "routine.deviations",
      params: {
        deviations: [
          { key: "routine.not_up", params: { now: "10:30", usual: "07:30" } },
          { key: "routine.since_last_activity", params: { since: "06:45", for_min: 225, usual_min: 90 } },
        ],
      },
    };
    const risk: ResidentRisk = {
      resident_id: 1,
      score: 91,
      at: "2026-11-23T01:30:00Z",
      explanation:
        "not up yet at 10:30; usually up by 07:30; no movement anywhere since 06:45 (3 h 45 min); usually 1 h 30 min at most at this time",
      explanation_text: why,
      trend: "up",
      series: [],
    };
    setLocale("ko");
    expect(riskWhy(risk)).toBe(
      "10:30인데 아직 일어나지 않음, 보통 07:30까지는 일어남; 06:45 이후 어디에서도 움직임 없음(3시간 45분), 이 시간에는 보통 길어야 1시간 30분",
    );
    setLocale("en");
    expect(riskWhy(risk)).toBe(risk.explanation);
  });

  it("show the day's summary sentence by sentence, an alert's title in it translated too", () => {
    const summary: DaySummaryText = {
      resident_id: 1,
      date: "2026-11-23",
      timezone: "Asia/Seoul",
      complete: false,
      alerts: [],
      lines: [
        "Sleep: about 7.5 hours in bed last night, out of bed twice during the night.",
        "Alerts: 1 — Fall detected in the Bathroom (open).",
      ],
      lines_text: [
        { key: "summary.sleep", params: { hours: 7.5, times_up: 2, woke: null } },
        {
          key: "summary.alerts",
          params: {
            count: 1,
            alerts: [{ key: "summary.alert", params: { title: fall.text!.title, state: "open" } }],
          },
        },
      ],
      text: "How Kim's day went…",
    };
    setLocale("ko");
    expect(summaryWords(summary)).toBe(
      "수면: 어젯밤 침대에 약 7.5시간 있었고, 밤사이 두 번 일어났습니다.\n알림: 1건 — 낙상 감지: 욕실 (처리 전).",
    );
    setLocale("en");
    expect(summaryWords(summary)).toBe(summary.lines.join("\n"));
    expect(summaryWords({ ...summary, lines_text: undefined as never })).toBe("How Kim's day went…");
  });

  it("begin the day's summary with the daily e-mail's opening line, in the page's language", () => {
    const summary: DaySummaryText = {
      resident_id: 1,
      date: "2026-03-08",
      timezone: "Asia/Seoul",
      complete: false,
      alerts: [],
      opening: "How Kim's day went, Sunday 8 Mar (until 20:05):",
      opening_text: {
        key: "summary.opening",
        params: {
          name: "Kim",
          weekday: 6,
          date: "2026-03-08",
          until: { key: "summary.until", params: { time: "20:05" } },
        },
      },
      lines: ["Out: stayed at home."],
      lines_text: [{ key: "summary.home", params: {} }],
      text: "How Kim's day went, Sunday 8 Mar (until 20:05):\n\n- Out: stayed at home.\n",
    };
    expect(summaryWords(summary)).toBe(
      "How Kim's day went, Sunday 8 Mar (until 20:05):\nOut: stayed at home.",
    );
    setLocale("ko");
    expect(summaryWords(summary)).toBe(
      "Kim 님의 하루, 3월 8일 일요일 (20:05까지):\n외출: 집에 머물렀습니다.",
    );
  });
});

describe("falling back to the server's English words", () => {
  it("for an alert without a structured text (raised before it existed)", () => {
    setLocale("ko");
    const old = makeAlert({ title: "Fall detected in the Hall", explanation: "Old words." });
    expect(alertTitle(old)).toBe("Fall detected in the Hall");
    expect(alertTitle({ ...old, text: null })).toBe("Fall detected in the Hall");
    expect(alertExplanation(old)).toBe("Old words.");
  });

  it("for a key, a parameter or a format this page does not know (a newer server)", () => {
    expect(serverWords({ key: "alert.teleport.title", params: {} }, FALLBACK, "ko")).toBe(FALLBACK);
    expect(serverWords({ key: "alert.fall.title", params: {} }, FALLBACK, "ko")).toBe(FALLBACK);
    expect(
      serverWords(
        { key: "alert.inactivity.title", params: { name: "Kim", for_min: "long" } },
        FALLBACK,
        "ko",
      ),
    ).toBe(FALLBACK);
    const nested: ServerText = {
      key: "alert.routine_deviation.explanation",
      params: { score: 80, why: { key: "routine.something_new", params: {} } },
    };
    expect(serverWords(nested, FALLBACK, "ko")).toBe(FALLBACK);
    expect(serverWords("not a text", FALLBACK, "ko")).toBe(FALLBACK);
    expect(serverWords({ key: 42 }, FALLBACK, "ko")).toBe(FALLBACK);
  });
});
