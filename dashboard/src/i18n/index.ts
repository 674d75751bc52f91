// Texts in English and Korean, switchable at runtime; the choice is kept in localStorage.
import { en, type MessageKey } from "./en";
import { ko } from "./ko";

export type Locale = "en" | "ko";
export type { MessageKey };

export const LOCALES: readonly Locale[] = ["en", "ko"];
const CATALOGS: Record<Locale, Record<MessageKey, string>> = { en, ko };
/** BCP 47 tags for Intl formatting; en-GB for 24-hour times and day-month order. */
export const INTL_LOCALE: Record<Locale, string> = { en: "en-GB", ko: "ko-KR" };

let current: Locale = "en";

/** The active language. */
export function getLocale(): Locale {
  return current;
}

/** Switch language (views re-render through the store that calls this). */
export function setLocale(locale: Locale): void {
  current = locale;
  if (typeof document !== "undefined") document.documentElement.lang = locale;
}

/** The first supported language among the user's preferences, else English. */
export function pickLocale(stored: string | null, browser: readonly string[]): Locale {
  if (stored === "en" || stored === "ko") return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "ko" || base === "en") return base;
  }
  return "en";
}

/** The text for `key` in `locale` (default: the active one), with {name} placeholders filled. */
export function t(
  key: MessageKey,
  params: Record<string, string | number> = {},
  locale: Locale = current,
): string {
  const template = CATALOGS[locale][key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    name in params ? String(params[name]) : match,
  );
}

/** The raw template of `key` in `locale`, or undefined when that catalog lacks it. */
export function catalogText(key: string, locale: Locale = current): string | undefined {
  const catalog: Record<string, string> = CATALOGS[locale];
  return Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : undefined;
}

/** Every key, for the catalog tests. */
export function catalogKeys(locale: Locale): string[] {
  return Object.keys(CATALOGS[locale]).sort();
}

/**
 * The server's words for an error, in the page's language: its code's text when the page is
 * not in English and the catalog knows the code; otherwise the server's own (English) message,
 * which is the more precise one.
 */
export function serverText(code: string | undefined, message: string, locale: Locale = current): string {
  if (locale === "en" || code === undefined) return message;
  const key = `server.${code}`;
  return key in CATALOGS[locale] ? t(key as MessageKey, {}, locale) : message;
}

/** The text for a key made at run time (a rule, a parameter, a target), else `fallback`. */
export function textOr(
  key: string,
  fallback: string,
  params: Record<string, string | number> = {},
  locale: Locale = current,
): string {
  return catalogText(key, locale) === undefined ? fallback : t(key as MessageKey, params, locale);
}
