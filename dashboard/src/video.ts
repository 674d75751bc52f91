// One emergency video call: the HTTP request, the RTCPeerConnection through TURN, and the
// signaling over the live Socket.IO connection (docs/video.md, "Sequence").
import type { Socket } from "socket.io-client";
import { ApiError, type ApiClient } from "./api";
import {
  VIDEO_ANSWER_EVENT,
  VIDEO_CANDIDATE_EVENT,
  VIDEO_ERROR_EVENT,
  VIDEO_HANGUP_EVENT,
  VIDEO_OFFER_EVENT,
  type Ack,
  type VideoAnswerPayload,
  type VideoCandidatePayload,
  type VideoErrorPayload,
  type VideoStatePayload,
} from "./events";
import { serverText, t } from "./i18n";
import { IDLE_VIDEO, isRunning, reduceVideo, type VideoAction, type VideoView } from "./state/video";

export interface VideoCallOptions {
  api: ApiClient;
  socket: () => Socket | null;
  residentId: number;
  onChange: (view: VideoView) => void;
  onStream: (stream: MediaStream | null) => void;
  /** Tests give a fake; the browser's RTCPeerConnection otherwise. */
  peerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

/** A call the panel starts and stops; its state goes to `onChange`. */
export class VideoCall {
  private view: VideoView = IDLE_VIDEO;
  private pc: RTCPeerConnection | null = null;
  private detach: (() => void) | null = null;

  constructor(private readonly options: VideoCallOptions) {}

  get state(): VideoView {
    return this.view;
  }

  /** Ask for a session and connect to the camera. */
  async start(): Promise<void> {
    if (isRunning(this.view)) return;
    this.apply({ type: "request" });
    const socket = this.options.socket();
    if (socket === null || !socket.connected) {
      this.apply({ type: "refused", message: t("conn.bannerTitle") });
      return;
    }
    let session;
    try {
      session = await this.options.api.startVideo(this.options.residentId);
    } catch (error) {
      this.apply({
        type: "refused",
        message: error instanceof ApiError ? error.message : t("error.generic"),
      });
      return;
    }
    if (this.view.phase !== "requesting") {
      // Stopped while asking: end the session the server just opened.
      socket.emit(VIDEO_HANGUP_EVENT, { session_id: session.id });
      return;
    }
    this.apply({ type: "created", sessionId: session.id, recorded: session.recorded === true });
    const id = session.id;
    const make = this.options.peerConnection ?? ((config) => new RTCPeerConnection(config));
    const pc = make({
      iceServers: session.ice_servers,
      iceTransportPolicy: session.ice_transport_policy,
    });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => this.options.onStream(event.streams[0] ?? new MediaStream([event.track]));
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") this.finish({ type: "failed", reason: "connection" });
    };
    const early: Record<string, unknown>[] = [];
    let offered = false;
    const sendCandidate = (c: Record<string, unknown>) =>
      socket.emit(VIDEO_CANDIDATE_EVENT, { session_id: id, ...c });
    pc.onicecandidate = (event) => {
      const c = event.candidate ? (event.candidate.toJSON() as Record<string, unknown>) : { candidate: "" };
      if (offered) sendCandidate(c);
      else early.push(c);
    };
    const onAnswer = (a: VideoAnswerPayload) => {
      if (a.session_id === id && this.pc === pc) void pc.setRemoteDescription({ type: "answer", sdp: a.sdp });
    };
    const onCandidate = (c: VideoCandidatePayload) => {
      if (c.session_id !== id || this.pc !== pc) return;
      void pc
        .addIceCandidate({
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        })
        .catch(() => undefined);
    };
    const onError = (e: VideoErrorPayload) => {
      if (e.session_id === id) this.finish({ type: "error", payload: e });
    };
    socket.on(VIDEO_ANSWER_EVENT, onAnswer);
    socket.on(VIDEO_CANDIDATE_EVENT, onCandidate);
    socket.on(VIDEO_ERROR_EVENT, onError);
    this.detach = () => {
      socket.off(VIDEO_ANSWER_EVENT, onAnswer);
      socket.off(VIDEO_CANDIDATE_EVENT, onCandidate);
      socket.off(VIDEO_ERROR_EVENT, onError);
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const ack = (await socket.timeout(15_000).emitWithAck(VIDEO_OFFER_EVENT, {
        session_id: id,
        type: "offer",
        sdp: pc.localDescription!.sdp,
      })) as Ack;
      if (!ack.ok) {
        this.finish({ type: "refused", message: serverText(ack.error.code, ack.error.message) });
        return;
      }
      offered = true;
      early.splice(0).forEach(sendCandidate);
    } catch {
      if (this.pc === pc) this.stop();
    }
  }

  /** A `video:state` event of the live feed. */
  onState(payload: VideoStatePayload): void {
    if (payload.session_id !== this.view.sessionId) return;
    if (payload.state === "ended") this.finish({ type: "state", payload });
    else this.apply({ type: "state", payload });
  }

  /** The <video> element shows frames. */
  playing(): void {
    this.apply({ type: "playing" });
  }

  /** Hang up (the server ends the session: `video:hangup`). */
  stop(): void {
    const id = this.view.sessionId;
    if (id !== null && isRunning(this.view))
      this.options.socket()?.emit(VIDEO_HANGUP_EVENT, { session_id: id });
    this.finish({
      type: "state",
      payload: { session_id: id ?? "", resident_id: 0, state: "ended", reason: "hangup" },
    });
    if (this.view.phase === "requesting") this.apply({ type: "failed", reason: "hangup" });
  }

  private finish(action: VideoAction): void {
    this.apply(action);
    this.detach?.();
    this.detach = null;
    this.pc?.close();
    this.pc = null;
    this.options.onStream(null);
  }

  private apply(action: VideoAction): void {
    const next = reduceVideo(this.view, action);
    if (next === this.view) return;
    this.view = next;
    this.options.onChange(next);
  }
}
