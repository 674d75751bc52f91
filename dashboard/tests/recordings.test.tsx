// @vitest-environment happy-dom
// The resident page's recordings list: words, what can be downloaded, and the download itself.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError } from "../src/api";
import type { DashboardController } from "../src/controller";
import { setLocale } from "../src/i18n";
import { formatBytes, recordingLine } from "../src/state/video";
import type { VideoRecording } from "../src/types";
import { Recordings } from "../src/views/Recordings";
import { mountRoot, unmountRoot } from "./dom";
import { settle } from "./wait";

const NOW = new Date("2026-11-23T09:00:00Z");

function recording(overrides: Partial<VideoRecording> = {}): VideoRecording {
  return {
    id: 3,
    session_id: "5b1e",
    state: "stored",
    content_type: "video/mp4",
    size_bytes: 1_234_567,
    duration_s: 95,
    frames: 2850,
    error: null,
    started_at: "2026-11-23T08:10:00Z",
    stored_at: "2026-11-23T08:12:00Z",
    delete_after: "2026-12-23T08:10:00Z",
    ...overrides,
  };
}

describe("recordingLine", () => {
  afterEach(() => setLocale("en"));

  it("says when, how long and how big a stored recording is, in the home's time", () => {
    const line = recordingLine(recording(), "Asia/Seoul", NOW);
    expect(line.when).toContain("17:10"); // 08:10 UTC is 17:10 in Seoul
    expect(line.details).toBe("Stored · 2 min · 1.2 MB");
    expect(line.downloadable).toBe(true);
    expect(line.keptUntil).toContain("23 Dec");
    expect(line.fileName).toBe("sst-recording-5b1e.mp4");
  });

  it("offers no download while recording or after a failure, and says why it failed", () => {
    expect(recordingLine(recording({ state: "recording", size_bytes: null }), "UTC", NOW)).toMatchObject({
      details: "Recording",
      downloadable: false,
    });
    const failed = recordingLine(recording({ state: "failed", error: "the recorder was lost" }), "UTC", NOW);
    expect(failed.details).toBe("Failed · the recorder was lost");
    expect(failed.downloadable).toBe(false);
  });

  it("speaks Korean when the page does", () => {
    setLocale("ko");
    expect(recordingLine(recording(), "Asia/Seoul", NOW).details).toBe("저장됨 · 2분 · 1.2 MB");
  });

  it("formats sizes", () => {
    expect(formatBytes(830_000)).toBe("830 kB");
    expect(formatBytes(12)).toBe("1 kB");
    expect(formatBytes(25_300_000)).toBe("25.3 MB");
  });
});

describe("ApiClient.videoRecordingFile", () => {
  it("fetches the file with the bearer token and returns its bytes", async () => {
    const seen: RequestInit[] = [];
    const client = new ApiClient({
      getToken: () => "tok",
      fetch: (async (_url: RequestInfo | URL, init?: RequestInit) => {
        seen.push(init ?? {});
        return new Response(new Uint8Array([1, 2, 3]), {
          status: 200,
          headers: { "Content-Type": "video/mp4" },
        });
      }) as typeof fetch,
    });
    const blob = await client.videoRecordingFile(4, 3);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect((seen[0]?.headers as Record<string, string>).Authorization).toBe("Bearer tok");
  });

  it("turns the server's refusal into its words", async () => {
    const client = new ApiClient({
      getToken: () => "tok",
      fetch: (async () =>
        new Response(
          JSON.stringify({ error: { code: "not_stored", message: "This recording is failed, not stored." } }),
          {
            status: 409,
            headers: { "Content-Type": "application/json" },
          },
        )) as typeof fetch,
    });
    const error = await client.videoRecordingFile(4, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe("This recording is failed, not stored.");
  });
});

describe("Recordings", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = mountRoot();
  });
  afterEach(() => unmountRoot(root));

  function controllerWith(file: () => Promise<Blob>) {
    const asked: [number, number][] = [];
    const controller = {
      api: {
        videoRecordingFile: (residentId: number, id: number) => {
          asked.push([residentId, id]);
          return file();
        },
      },
    };
    return { controller: controller as unknown as DashboardController, asked };
  }

  it("lists the recordings and downloads a stored one through the browser", async () => {
    const { controller, asked } = controllerWith(async () => new Blob(["film"]));
    const created = vi.fn(() => "blob:film");
    const revoked = vi.fn();
    const original = { create: URL.createObjectURL, revoke: URL.revokeObjectURL };
    URL.createObjectURL = created;
    URL.revokeObjectURL = revoked;
    const clicks: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicks.push(this.download);
    });
    render(
      <Recordings
        controller={controller}
        residentId={4}
        recordings={[recording(), recording({ id: 2, state: "failed", error: "no media" })]}
        zone="Asia/Seoul"
        now={NOW}
      />,
      root,
    );
    const buttons = root.querySelectorAll("button");
    expect(buttons.length).toBe(1); // the failed one has nothing to download
    expect(root.textContent).toContain("Failed · no media");
    buttons[0]!.click();
    await settle();
    expect(asked).toEqual([[4, 3]]);
    expect(created).toHaveBeenCalledOnce();
    expect(clicks).toEqual(["sst-recording-5b1e.mp4"]);
    click.mockRestore();
    URL.createObjectURL = original.create;
    URL.revokeObjectURL = original.revoke;
  });

  it("says so when the download is refused, and none are recorded says so too", async () => {
    const { controller } = controllerWith(async () => {
      throw new ApiError(503, "object_store_unavailable", "The recording cannot be read now; try again.");
    });
    render(
      <Recordings controller={controller} residentId={4} recordings={[recording()]} zone="UTC" now={NOW} />,
      root,
    );
    root.querySelector("button")!.click();
    await settle();
    expect(root.querySelector("[role=alert]")?.textContent).toBe(
      "The recording could not be downloaded: The recording cannot be read now; try again.",
    );
    render(<Recordings controller={controller} residentId={4} recordings={[]} zone="UTC" now={NOW} />, root);
    expect(root.textContent).toContain("No emergency video session of this resident was recorded.");
  });
});
