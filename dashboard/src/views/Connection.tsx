// Live-update status: a compact indicator in the header and a banner while it is broken.
import { t } from "../i18n";
import type { ConnectionStatus } from "../socket";

export function ConnectionIndicator({ status }: { status: ConnectionStatus }) {
  return (
    <div class={`conn conn--${status}`} data-testid="connection">
      <span class="conn__dot" aria-hidden="true" />
      <span>
        <span class="visually-hidden">{t("conn.label")} </span>
        {t(`conn.${status}`)}
      </span>
    </div>
  );
}

export function ConnectionBanner({ status }: { status: ConnectionStatus }) {
  if (status !== "reconnecting") return null;
  return (
    <div class="banner banner--warning" role="status">
      <strong>{t("conn.bannerTitle")}</strong> {t("conn.bannerBody")}
    </div>
  );
}
