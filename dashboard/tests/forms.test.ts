import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../src/i18n";
import { missingField } from "../src/views/AdminView";
import { checkPreferences } from "../src/views/GuardianView";
import { checkParam } from "../src/views/Settings";

afterEach(() => setLocale("en"));

describe("form checks before anything is sent", () => {
  it("names the first empty required field", () => {
    expect(
      missingField({ full_name: "Ada", email: " " }, { full_name: "admin.name", email: "admin.email" }),
    ).toBe("Please fill in: Email.");
    expect(missingField({ full_name: "Ada" }, { full_name: "admin.name" })).toBeNull();
    setLocale("ko");
    expect(missingField({ home: "" }, { home: "admin.home" })).toBe("입력하세요: 집.");
  });

  it("wants a full https address only when the webhook is chosen", () => {
    expect(checkPreferences(["email"], "")).toBeNull();
    expect(checkPreferences(["webhook"], "not a url")).toBe("Please enter a full https:// address.");
    expect(checkPreferences(["webhook"], "http://sms.example.org/hook")).not.toBeNull();
    expect(checkPreferences(["webhook"], "https://sms.example.org/hook")).toBeNull();
  });

  it("keeps threshold values inside their range", () => {
    const range = { minimum: 5, maximum: 240, default: 60 };
    expect(checkParam("max_minutes", "30", range)).toBe(30);
    expect(checkParam("max_minutes", "300", range)).toBe("max_minutes: 5 – 240");
    expect(checkParam("max_minutes", "", range)).toMatch(/Please fill in/);
    expect(checkParam("max_minutes", "abc", range)).toMatch(/Please fill in/);
  });
});
