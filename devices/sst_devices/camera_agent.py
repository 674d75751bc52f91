"""The reference camera agent of a hub: emergency video over WebRTC (aiortc), asked for over MQTT.

It subscribes to `sst/v1/hubs/{serial}/video/down` (QoS 1) and answers on `.../video/up`
(docs/video.md has the sequence and docs/mqtt.md the topics):

* `start` opens the camera (a V4L2 device where present, else a moving test pattern) for a
  session, with the session's ICE servers (ephemeral TURN credentials) and, by default, a
  relay-only policy; nothing is sent until the viewer's offer arrives;
* `offer` is answered (`answer`, with every candidate in the SDP: aiortc gathers before it
  answers); `candidate` adds the viewer's trickled candidates;
* `state` `connected` is sent when media flows, `ended` (with a reason) when the connection
  fails or the session's `expires_at` passes; `stop` closes it at once.

A session may have a second receiver, the platform's recorder (messages with
`"peer": "recorder"`): its offer gets a peer connection of its own, fed from the same camera
through aiortc's `MediaRelay`; its failure or `stop` closes only that peer, never the
viewer's. The agent never keeps a session past `expires_at`, even if the backend is gone.
Usage::

    sst-camera --hub demo-hub-1      # logs in with SST_MQTT_USERNAME / SST_MQTT_PASSWORD
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.sdp import candidate_from_sdp
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from sst_core.const import VIDEO_DOWN, VIDEO_UP, hub_topic
from sst_core.logs import setup_logging
from sst_core.video_messages import (
    DOWN,
    MAX_VIDEO_MESSAGE_BYTES,
    AnswerVideo,
    CandidateVideo,
    IceCandidate,
    OfferVideo,
    Peer,
    StartVideo,
    StopVideo,
    VideoState,
)
from sst_devices.camera_source import OwnFrames, open_camera
from sst_devices.settings import DevicesSettings

log = logging.getLogger("sst.devices.camera")


@dataclass
class _Peer:
    """One receiver of a session's camera: the viewer (None) or the recorder."""

    pc: RTCPeerConnection
    answered: bool = False
    pending: list[IceCandidate] = field(default_factory=list)


@dataclass
class _Session:
    id: str
    config: RTCConfiguration
    track: MediaStreamTrack
    relay: MediaRelay
    peers: dict[Peer | None, _Peer] = field(default_factory=dict)
    deadline: asyncio.Task[None] | None = None

    @property
    def pc(self) -> RTCPeerConnection:
        """The viewer's peer connection."""
        return self.peers[None].pc


class CameraAgent:
    """One hub's camera agent: an MQTT session and the WebRTC peers of its video sessions."""

    def __init__(
        self,
        hub_serial: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        device: str | None = None,
        max_sessions: int = 3,
    ) -> None:
        self.hub_serial = hub_serial
        self.device = device
        self.max_sessions = max_sessions
        self.sessions: dict[str, _Session] = {}
        self.ready = asyncio.Event()
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{hub_serial}-camera-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if username is not None:
            client.username_pw_set(username, password)
        if tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    @classmethod
    def from_settings(cls, hub_serial: str, settings: DevicesSettings) -> CameraAgent:
        """An agent with the broker, login and camera of the settings."""
        return cls(
            hub_serial,
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            username=settings.mqtt_username,
            password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
            tls=settings.mqtt_tls,
            device=settings.camera_device,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Serve video requests until `stop` is set; every session is closed on the way out."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                getting = asyncio.create_task(self._incoming.get())
                done, _ = await asyncio.wait(
                    {getting, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                if getting not in done:
                    getting.cancel()
                    break
                try:
                    await self._handle(getting.result())
                except Exception:  # one bad session must not end the agent
                    log.exception("video message could not be handled")
        finally:
            stopping.cancel()
            for session_id in list(self.sessions):
                await self._close(session_id, tell="agent stopping")
            self._client.disconnect()
            await asyncio.to_thread(self._client.loop_stop)

    # -- messages ---------------------------------------------------------------

    async def _handle(self, payload: bytes) -> None:
        if len(payload) > MAX_VIDEO_MESSAGE_BYTES:
            log.warning("video message of %d bytes refused", len(payload))
            return
        try:
            message = DOWN.validate_json(payload)
        except ValidationError as exc:
            log.warning("malformed video message refused: %s", exc.errors()[0]["msg"])
            return
        if isinstance(message, StartVideo):
            await self._start(message)
        elif isinstance(message, OfferVideo):
            await self._answer(message)
        elif isinstance(message, CandidateVideo):
            await self._add_candidate(message.session, message.peer, message.candidate)
        else:
            assert isinstance(message, StopVideo)
            if message.peer is None:
                await self._close(message.session, tell=None)
            else:
                await self._close_peer(message.session, message.peer, tell=None)

    async def _start(self, message: StartVideo) -> None:
        if message.session in self.sessions:
            return  # a redelivered start
        remaining_s = message.expires_at / 1000 - time.time()
        if remaining_s <= 0:
            self._publish(VideoState(session=message.session, state="ended", reason="expired"))
            return
        if len(self.sessions) >= self.max_sessions:
            self._publish(VideoState(session=message.session, state="ended", reason="busy"))
            return
        config = RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                for s in message.ice_servers
            ],
            iceTransportPolicy=(
                RTCIceTransportPolicy.RELAY if message.relay_only else RTCIceTransportPolicy.ALL
            ),
        )
        try:
            track, what = open_camera(self.device)
        except RuntimeError as exc:
            log.error("%s", exc)
            self._publish(VideoState(session=message.session, state="ended", reason="no camera"))
            return
        session = _Session(id=message.session, config=config, track=track, relay=MediaRelay())
        self.sessions[session.id] = session
        self._add_peer(session, None)
        session.deadline = asyncio.create_task(self._expire(session.id, remaining_s))
        log.info("video session %s: camera open (%s), waiting for the offer", session.id, what)

    def _add_peer(self, session: _Session, peer: Peer | None) -> _Peer:
        # Each receiver reads the camera through the relay, latest frame first (unbuffered):
        # a slow receiver drops frames rather than delaying the other; each encodes copies
        # of its own (OwnFrames: two encoders on one frame crash).
        pc = RTCPeerConnection(configuration=session.config)
        pc.addTrack(OwnFrames(session.relay.subscribe(session.track, buffered=False)))
        added = session.peers[peer] = _Peer(pc=pc)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "connected":
                log.info("video session %s: media flowing to the %s", session.id, peer or "viewer")
                self._publish(VideoState(session=session.id, state="connected", peer=peer))
            elif pc.connectionState == "failed":
                if peer is None:
                    await self._close(session.id, tell="connection failed")
                else:
                    await self._close_peer(session.id, peer, tell="connection failed")

        return added

    async def _answer(self, message: OfferVideo) -> None:
        session = self.sessions.get(message.session)
        if session is None:
            log.warning("offer for unknown session %s ignored", message.session)
            return
        peer = session.peers.get(message.peer)
        if peer is None and message.peer is not None:
            peer = self._add_peer(session, message.peer)
        if peer is None or peer.answered:
            log.warning("offer for answered session %s ignored", message.session)
            return
        peer.answered = True
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(message.sdp, "offer"))
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except (ValueError, RuntimeError) as exc:  # an offer aiortc cannot take
            log.warning("offer of session %s refused: %s", session.id, exc)
            if message.peer is None:
                await self._close(session.id, tell="bad offer")
            else:
                await self._close_peer(session.id, message.peer, tell="bad offer")
            return
        for candidate in peer.pending:
            await self._add_candidate(session.id, message.peer, candidate)
        peer.pending.clear()
        local = peer.pc.localDescription
        self._publish(AnswerVideo(session=session.id, sdp=local.sdp, peer=message.peer))

    async def _add_candidate(
        self, session_id: str, peer_name: Peer | None, candidate: IceCandidate
    ) -> None:
        session = self.sessions.get(session_id)
        peer = session.peers.get(peer_name) if session is not None else None
        if peer is None:
            return
        if peer.pc.remoteDescription is None:
            peer.pending.append(candidate)
            return
        if not candidate.candidate:  # the viewer's end-of-candidates
            await peer.pc.addIceCandidate(None)
            return
        text = candidate.candidate.removeprefix("candidate:")
        try:
            parsed = candidate_from_sdp(text)
        except (ValueError, IndexError) as exc:
            log.warning("unreadable candidate for session %s: %s", session_id, exc)
            return
        parsed.sdpMid, parsed.sdpMLineIndex = candidate.sdpMid, candidate.sdpMLineIndex
        await peer.pc.addIceCandidate(parsed)

    async def _expire(self, session_id: str, after_s: float) -> None:
        await asyncio.sleep(after_s)
        await self._close(session_id, tell="expired")

    async def _close(self, session_id: str, *, tell: str | None) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        if session.deadline is not None and session.deadline is not asyncio.current_task():
            session.deadline.cancel()
        session.track.stop()
        for peer in session.peers.values():
            await peer.pc.close()
        if tell is not None:
            self._publish(VideoState(session=session_id, state="ended", reason=tell))
        log.info("video session %s closed (%s)", session_id, tell or "stopped by SST")

    async def _close_peer(self, session_id: str, peer_name: Peer, *, tell: str | None) -> None:
        """Close one extra receiver (the recorder); the viewer's call goes on."""
        session = self.sessions.get(session_id)
        peer = session.peers.pop(peer_name, None) if session is not None else None
        if peer is None:
            return
        await peer.pc.close()
        if tell is not None:
            ended = VideoState(session=session_id, state="ended", reason=tell, peer=peer_name)
            self._publish(ended)
        log.info("video session %s: %s closed (%s)", session_id, peer_name, tell or "by SST")

    def _publish(self, message: AnswerVideo | CandidateVideo | VideoState) -> None:
        topic = hub_topic(self.hub_serial, VIDEO_UP)
        self._client.publish(topic, message.model_dump_json(exclude_none=True).encode(), qos=1)

    # -- paho's thread -------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            log.error("the broker refused the camera agent of %s: %s", self.hub_serial, rc)
            return
        client.subscribe(hub_topic(self.hub_serial, VIDEO_DOWN), qos=1)

    def _on_subscribe(self, _c: Any, _u: Any, _m: int, rcs: list[ReasonCode], _p: Any) -> None:
        if any(rc.is_failure for rc in rcs):
            log.error("the camera agent of %s may not read its video topic", self.hub_serial)
        elif self._loop is not None and not self._loop.is_closed():
            log.info("camera agent of hub %s waiting for video requests", self.hub_serial)
            self._loop.call_soon_threadsafe(self.ready.set)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.ready.clear)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._put, bytes(message.payload))

    def _put(self, payload: bytes) -> None:
        try:
            self._incoming.put_nowait(payload)
        except asyncio.QueueFull:
            log.error("video messages arrive faster than they are handled; one dropped")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `sst-camera`."""
    parser = argparse.ArgumentParser(prog="sst-camera", description=__doc__.split("\n")[0])
    parser.add_argument("--hub", required=True, help="serial of the hub this camera belongs to")
    args = parser.parse_args(argv)
    settings = DevicesSettings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    agent = CameraAgent.from_settings(args.hub, settings)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await agent.run(stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
