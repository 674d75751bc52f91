// Top-level view: the login form, the guardian's phone view, or the staff shell with its routes.
import { useEffect, useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import { t } from "../i18n";
import { parseRoute, type Route } from "../router";
import { isUrgent } from "../state/alerts";
import { useStoreState } from "./hooks";
import { GuardianView } from "./GuardianView";
import { LiveAnnouncer } from "./LiveAnnouncer";
import { LoginView } from "./LoginView";
import { StaffView } from "./StaffView";

function currentRoute(): Route {
  return parseRoute(typeof location === "undefined" ? "" : location.hash);
}

export function App({ controller }: { controller: DashboardController }) {
  const state = useStoreState(controller.store);
  const [route, setRoute] = useState<Route>(currentRoute);
  const urgent = state.alerts.filter(isUrgent).length;
  const title = state.session?.user.role === "guardian" ? t("app.guardianTitle") : t("app.title");

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    // Visible from another tab: how many critical alerts nobody has acknowledged.
    document.title = urgent > 0 ? `(${urgent}) ${title}` : title;
  }, [urgent, title]);

  useEffect(() => {
    document.documentElement.classList.toggle("large-type", state.prefs.largeType);
    document.documentElement.lang = state.prefs.locale;
  }, [state.prefs.largeType, state.prefs.locale]);

  let body;
  if (state.session === null) body = <LoginView controller={controller} notice={state.notice} />;
  else if (state.session.user.role === "guardian")
    body = <GuardianView controller={controller} state={state} route={route} />;
  else body = <StaffView controller={controller} state={state} route={route} />;
  return (
    <>
      {body}
      <LiveAnnouncer announcement={state.announcement} />
    </>
  );
}
