// The signed-in staff shell: header, banners, and the page of the current route.
import type { DashboardController } from "../controller";
import { t } from "../i18n";
import type { Route } from "../router";
import type { DashboardState } from "../state/store";
import { AdminView } from "./AdminView";
import { AlertList } from "./AlertList";
import { ConnectionBanner } from "./Connection";
import { CriticalBanner } from "./CriticalBanner";
import { useNow } from "./hooks";
import { ResidentList } from "./ResidentList";
import { ResidentPage } from "./ResidentPage";
import { Topbar } from "./Topbar";

interface Props {
  controller: DashboardController;
  state: DashboardState;
  route?: Route;
}

export function StaffView({ controller, state, route = { name: "overview" } }: Props) {
  // Once a second, for the escalation countdowns.
  const now = useNow(1000);
  let page;
  if (route.name === "resident") {
    page = (
      <ResidentPage
        key={route.residentId}
        controller={controller}
        state={state}
        residentId={route.residentId}
        now={now}
      />
    );
  } else if (route.name === "admin") {
    page = <AdminView controller={controller} state={state} tab={route.tab} />;
  } else if (route.name === "notFound") {
    page = (
      <main class="staff__main staff__main--single">
        <p class="message message--error" role="alert">
          {t("error.notFound")} <a href="#/">{t("nav.back")}</a>
        </p>
      </main>
    );
  } else {
    page = (
      <main class="staff__main">
        <AlertList controller={controller} state={state} now={now} />
        <ResidentList residents={state.residents} loading={state.loading} state={state} now={now} />
      </main>
    );
  }
  return (
    <div class="staff">
      <a
        class="skip-link"
        href="#/"
        onClick={(event) => {
          // Hash links are routes here; move focus instead of navigating.
          event.preventDefault();
          document.getElementById("alerts-title")?.focus();
        }}
      >
        {t("nav.skip")}
      </a>
      <Topbar controller={controller} state={state} />
      <CriticalBanner state={state} />
      <ConnectionBanner status={state.connection} />
      {state.loadError && (
        <div class="message message--error page-message" role="alert">
          {state.loadError}{" "}
          <button type="button" class="button button--quiet" onClick={() => void controller.reload()}>
            {t("error.tryAgain")}
          </button>
        </div>
      )}
      {page}
    </div>
  );
}
