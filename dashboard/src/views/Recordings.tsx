// The recordings of a resident's emergency video sessions, for the staff who see the resident.
import { useState } from "preact/hooks";
import { messageOf, type DashboardController } from "../controller";
import { t } from "../i18n";
import { recordingLine } from "../state/video";
import type { VideoRecording } from "../types";

interface Props {
  controller: DashboardController;
  residentId: number;
  recordings: readonly VideoRecording[];
  zone: string | null | undefined;
  now: Date;
}

/** Hand a file to the browser's own download (the request needed the bearer token). */
function saveFile(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function Recordings({ controller, residentId, recordings, zone, now }: Props) {
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const download = async (id: number, fileName: string) => {
    setBusy(id);
    setError(null);
    try {
      saveFile(await controller.api.videoRecordingFile(residentId, id), fileName);
    } catch (caught) {
      setError(t("recordings.downloadFailed", { message: messageOf(caught) }));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="panel" aria-labelledby="recordings-title" data-testid="recordings">
      <h2 id="recordings-title">{t("resident.recordings")}</h2>
      {recordings.length === 0 ? (
        <p class="empty">{t("recordings.none")}</p>
      ) : (
        <ul class="recordings">
          {recordings.map((rec) => {
            const line = recordingLine(rec, zone, now);
            return (
              <li key={line.id} class={`recording recording--${rec.state}`} data-recording={line.id}>
                <time dateTime={rec.started_at}>{line.when}</time> · {line.details} ·{" "}
                <span class="hint">{t("recordings.keptUntil", { when: line.keptUntil })}</span>{" "}
                {line.downloadable && (
                  <button
                    type="button"
                    class="button"
                    disabled={busy === line.id}
                    aria-label={t("recordings.downloadOf", { when: line.when })}
                    onClick={() => void download(line.id, line.fileName)}
                  >
                    {t("recordings.download")}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {error && (
        <p class="message message--error" role="alert">
          {error}
        </p>
      )}
      <p class="hint">{t("recordings.hint")}</p>
    </section>
  );
}
