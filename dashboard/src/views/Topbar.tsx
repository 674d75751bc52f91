// Header of every signed-in page: where you are, live status, language, text size, sound, sign out.
import { useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import { LOCALES, t, type Locale } from "../i18n";
import type { DashboardState } from "../state/store";
import { ConnectionIndicator } from "./Connection";

const LOCALE_NAMES: Record<Locale, string> = { en: "English", ko: "한국어" };

export function PrefControls({
  controller,
  state,
  sound,
}: {
  controller: DashboardController;
  state: DashboardState;
  sound: boolean;
}) {
  const [permission, setPermission] = useState<string>(
    typeof Notification === "undefined" ? "unsupported" : Notification.permission,
  );
  return (
    <div class="prefs">
      <label class="prefs__item">
        <span class="visually-hidden">{t("prefs.language")}</span>
        <select
          value={state.prefs.locale}
          aria-label={t("prefs.language")}
          onChange={(e) =>
            controller.setPrefs({ locale: (e.currentTarget as HTMLSelectElement).value as Locale })
          }
        >
          {LOCALES.map((locale) => (
            <option key={locale} value={locale} lang={locale}>
              {LOCALE_NAMES[locale]}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        class="button button--quiet"
        aria-pressed={state.prefs.largeType}
        onClick={() => controller.setPrefs({ largeType: !state.prefs.largeType })}
      >
        {t("prefs.largeType")}
      </button>
      {sound && (
        <button
          type="button"
          class="button button--quiet"
          aria-pressed={!state.prefs.muted}
          data-testid="sound-toggle"
          onClick={() => controller.setPrefs({ muted: !state.prefs.muted })}
        >
          {state.prefs.muted ? t("prefs.soundOff") : t("prefs.soundOn")}
        </button>
      )}
      {sound && permission === "default" && (
        <button
          type="button"
          class="button button--quiet"
          onClick={() => void controller.enableNotifications().then((p) => setPermission(p))}
        >
          {t("prefs.notificationsEnable")}
        </button>
      )}
      {sound && permission === "denied" && <span class="prefs__note">{t("prefs.notificationsBlocked")}</span>}
    </div>
  );
}

export function Topbar({ controller, state }: { controller: DashboardController; state: DashboardState }) {
  const user = state.session?.user;
  return (
    <header class="topbar">
      <a class="topbar__brand" href="#/">
        {t("app.brand")}
      </a>
      <nav class="topbar__nav" aria-label={t("app.brand")}>
        <a href="#/">{t("nav.overview")}</a>
        {user?.role === "admin" && <a href="#/admin/residents">{t("nav.admin")}</a>}
      </nav>
      <ConnectionIndicator status={state.connection} />
      <PrefControls controller={controller} state={state} sound={true} />
      <div class="topbar__user">
        <span class="topbar__name">{user?.full_name}</span>
        <span class="topbar__role">{user?.role}</span>
        <button type="button" class="button button--quiet" onClick={() => controller.logout()}>
          {t("session.signOut")}
        </button>
      </div>
    </header>
  );
}
