// Live video of the resident's home: one click starts a session, Stop ends it (docs/video.md).
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import type { VideoStatePayload } from "../events";
import { t } from "../i18n";
import {
  applyOtherState,
  IDLE_VIDEO,
  isRunning,
  type OtherViewer,
  othersFromRecord,
  othersText,
  videoStatusText,
} from "../state/video";
import { VideoCall } from "../video";

interface Props {
  controller: DashboardController;
  residentId: number;
  name: string;
  alertId: number;
}

export function VideoPart({ controller, residentId, name, alertId }: Props) {
  const [view, setView] = useState(IDLE_VIDEO);
  const videoRef = useRef<HTMLVideoElement>(null);
  const call = useMemo(
    () =>
      new VideoCall({
        api: controller.api,
        socket: () => controller.liveSocket(),
        residentId,
        onChange: setView,
        onStream: (stream) => {
          if (videoRef.current) videoRef.current.srcObject = stream;
        },
      }),
    [controller, residentId],
  );

  // Who else is looking into this home: from the record when the panel opens, then live.
  const me = controller.store.get().session?.user.id ?? null;
  const own = useRef<string | null>(null);
  own.current = view.sessionId;
  const othersRef = useRef<readonly OtherViewer[]>([]);
  const [others, setOthersState] = useState<readonly OtherViewer[]>([]);
  const setOthers = useCallback((next: readonly OtherViewer[]) => {
    othersRef.current = next;
    setOthersState(next);
  }, []);
  const loadOthers = useCallback(async () => {
    try {
      const rows = await controller.api.videoSessions(residentId);
      setOthers(othersFromRecord(rows, own.current, me));
    } catch {
      // Not shown rather than wrong: the live events still add sessions as they start.
    }
  }, [controller, residentId, me, setOthers]);

  useEffect(() => {
    void loadOthers();
  }, [loadOthers]);

  useEffect(() => {
    const listener = ({ kind, payload }: { kind: string; payload: unknown }) => {
      if (kind !== "video:state") return;
      const state = payload as VideoStatePayload;
      call.onState(state);
      if (state.resident_id !== residentId) return;
      const next = applyOtherState(othersRef.current, state, own.current, me);
      if (next === othersRef.current) return;
      setOthers(next);
      if (next.some((o) => o.name === null)) void loadOthers(); // learn who asked
    };
    controller.liveListeners.add(listener);
    return () => {
      controller.liveListeners.delete(listener);
      // Closing the panel ends the call: nobody is watching any more.
      call.stop();
    };
  }, [controller, call, residentId, me, loadOthers, setOthers]);

  const running = isRunning(view);
  const statusId = `video-status-${alertId}`;
  return (
    <section class="emergency__part" aria-labelledby={`video-title-${alertId}`}>
      <h4 id={`video-title-${alertId}`}>{t("emergency.video")}</h4>
      <video
        ref={videoRef}
        class={`emergency__video emergency__video--${view.phase}`}
        data-testid="emergency-video"
        aria-label={t("video.player", { name })}
        aria-describedby={statusId}
        autoplay
        muted
        playsInline
        onPlaying={() => call.playing()}
      />
      <p
        id={statusId}
        class={`video-status video-status--${view.phase}`}
        data-testid="video-status"
        data-phase={view.phase}
        role="status"
      >
        {videoStatusText(view)}
      </p>
      {view.recorded && running && (
        <p class="video-recorded" data-testid="video-recorded">
          <span aria-hidden="true">● </span>
          {t("video.recorded")}
        </p>
      )}
      <p class="video-others" data-testid="video-others" aria-live="polite">
        {othersText(others) ?? ""}
      </p>
      <div class="alert__actions">
        {running ? (
          <button type="button" class="button button--danger" onClick={() => call.stop()}>
            {t("video.stop")}
          </button>
        ) : (
          <button type="button" class="button button--primary" onClick={() => void call.start()}>
            {t("video.start")}
          </button>
        )}
      </div>
      <p class="hint">{t("emergency.videoHint")}</p>
    </section>
  );
}
