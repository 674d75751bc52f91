// Language, large type and mute: per browser, in localStorage.
import { pickLocale } from "./i18n";
import { DEFAULT_PREFS, type UiPrefs } from "./state/store";

const KEY = "sst.prefs";

/** Stored choices, falling back to the browser's language and the defaults. */
export function loadPrefs(
  storage: Storage | undefined,
  languages: readonly string[] = browserLanguages(),
): UiPrefs {
  let stored: Partial<UiPrefs> = {};
  try {
    stored = JSON.parse(storage?.getItem(KEY) ?? "{}") as Partial<UiPrefs>;
  } catch {
    // A corrupt entry is the same as none.
  }
  return {
    locale: pickLocale(typeof stored.locale === "string" ? stored.locale : null, languages),
    largeType: stored.largeType === true,
    muted: stored.muted === true,
  };
}

/** Remember the choices. */
export function savePrefs(storage: Storage | undefined, prefs: UiPrefs): void {
  storage?.setItem(KEY, JSON.stringify(prefs));
}

function browserLanguages(): readonly string[] {
  return typeof navigator !== "undefined" && Array.isArray(navigator.languages) ? navigator.languages : [];
}

export { DEFAULT_PREFS };
