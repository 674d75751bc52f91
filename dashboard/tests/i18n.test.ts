import { afterEach, describe, expect, it } from "vitest";
import { errorFromResponse } from "../src/api";
import { catalogKeys, pickLocale, serverText, setLocale, t } from "../src/i18n";
import { en } from "../src/i18n/en";
import { ko } from "../src/i18n/ko";
import { describeCounts, formatAgo, formatLocalTime, severityLabel } from "../src/state/format";
import { json } from "./fixtures";

afterEach(() => setLocale("en"));

describe("i18n", () => {
  it("has the same keys in English and Korean, none of them empty", () => {
    expect(catalogKeys("ko")).toEqual(catalogKeys("en"));
    for (const [key, text] of Object.entries(ko)) expect(text.trim(), key).not.toBe("");
  });

  it("keeps the same placeholders in both languages", () => {
    const names = (text: string) => [...text.matchAll(/\{(\w+)(?::\w+)?\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      // The words of server-text formats get every value they might need (src/i18n/server.ts);
      // each language uses those it needs ("3 Sep" by the month's name, "9월 3일" by its number).
      if (key.startsWith("fmt.")) continue;
      expect(names(ko[key]), key).toEqual(names(en[key]));
    }
  });

  it("fills placeholders and leaves unknown ones visible", () => {
    expect(t("alert.seenTimes", { count: 4 })).toBe("Seen 4 times");
    expect(t("alert.seenTimes", { count: 4 }, "ko")).toBe("4회 감지");
    expect(t("alert.seenTimes")).toBe("Seen {count} times");
  });

  it("switches every formatted word with the language", () => {
    setLocale("ko");
    expect(severityLabel("critical")).toBe("긴급");
    expect(formatAgo("2026-07-01T11:55:00Z", new Date("2026-07-01T12:00:00Z"))).toBe("5분 전");
    expect(describeCounts({ critical: 1, high: 0, medium: 2, low: 0 })).toBe("긴급 1, 보통 2");
    expect(formatLocalTime("2026-07-01T05:30:00Z", "Asia/Seoul", new Date("2026-07-01T06:00:00Z"))).toMatch(
      /14:30/,
    );
  });

  it("picks the stored language, else the browser's, else English", () => {
    expect(pickLocale("ko", ["en-US"])).toBe("ko");
    expect(pickLocale(null, ["ko-KR", "en"])).toBe("ko");
    expect(pickLocale(null, ["fr-FR", "en-GB"])).toBe("en");
    expect(pickLocale("xx", ["de"])).toBe("en");
  });
});

describe("the server's words", () => {
  it("are the server's own in English, the catalog's by code in Korean, the server's for an unknown code", () => {
    expect(serverText("forbidden", "Your role does not allow this.", "en")).toBe(
      "Your role does not allow this.",
    );
    expect(serverText("forbidden", "Your role does not allow this.", "ko")).toBe(
      "이 작업을 할 권한이 없습니다.",
    );
    expect(serverText("something_new", "A new refusal.", "ko")).toBe("A new refusal.");
    expect(serverText(undefined, "No code.", "ko")).toBe("No code.");
  });

  it("reach the page through the API client in the page's language", async () => {
    setLocale("ko");
    const error = await errorFromResponse(
      json(404, { error: { code: "not_found", message: "The resident was not found." } }),
    );
    expect(error.message).toBe("찾을 수 없거나 볼 권한이 없습니다.");
    expect(error.code).toBe("not_found");
    setLocale("en");
  });
});
