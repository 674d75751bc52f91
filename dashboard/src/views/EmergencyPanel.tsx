// From an open alert: live video from the home's camera and the home robots' controls.
import { useEffect, useRef } from "preact/hooks";
import type { DashboardController } from "../controller";
import { t } from "../i18n";
import { alertRoomLabel } from "../i18n/server";
import type { Alert, Resident } from "../types";
import { RobotControls } from "./RobotControls";
import { VideoPart } from "./VideoPart";

interface Props {
  alert: Alert;
  resident: Resident | undefined;
  controller: DashboardController;
  onClose: () => void;
}

export function EmergencyPanel({ alert, resident, controller, onClose }: Props) {
  const dialogRef = useRef<HTMLDivElement>(null);
  // Focus moves into the panel once, when it opens. Not on every render of the card: the
  // card renders again on each live update (and `onClose` is a new function each time),
  // which used to pull the focus off the button a keyboard user had just pressed.
  useEffect(() => dialogRef.current?.focus(), []);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") close.current();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const titleId = `emergency-${alert.id}`;
  const name = resident?.full_name ?? `#${alert.resident_id}`;
  return (
    <div
      class="emergency"
      role="dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      tabIndex={-1}
      ref={dialogRef}
    >
      <div class="emergency__head">
        <h3 id={titleId}>
          {t("emergency.title")}: {name}
          {alert.room ? ` · ${alertRoomLabel(alert)}` : ""}
        </h3>
        <button type="button" class="button button--quiet" onClick={onClose}>
          {t("emergency.close")}
        </button>
      </div>
      <div class="emergency__parts">
        <VideoPart controller={controller} residentId={alert.resident_id} name={name} alertId={alert.id} />
        <RobotControls controller={controller} resident={resident} room={alert.room} alertId={alert.id} />
      </div>
    </div>
  );
}
