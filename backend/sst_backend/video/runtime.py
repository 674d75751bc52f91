"""The running side of video: the camera agents' answers, the viewers' signaling, deadlines.

Every path that ends a session goes through `end` (one conditional UPDATE: a session ends
once), which audits it, tells the camera agent to stop, and tells the browsers. Signaling is
relayed, never trusted: each message is checked against the session's row (its requester,
its hub, its state) before it goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from typing import Any

import socketio
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import Audience, Target
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.rooms import rooms_of
from sst_backend.settings import BackendSettings
from sst_backend.tasks import cancel_all
from sst_backend.video import repository
from sst_backend.video.link import VideoLink
from sst_backend.video.metrics import VIDEO_REFUSALS, VIDEO_SESSIONS_ENDED
from sst_backend.video.recording import Recordings
from sst_backend.video.service import Opened, record_end
from sst_backend.video.signals import (
    Refused,
    ViewerCandidate,
    ViewerHangup,
    ViewerOffer,
    parse_viewer,
)
from sst_core.const import (
    HUB_TOPIC_PREFIX,
    VIDEO_ANSWER_EVENT,
    VIDEO_CANDIDATE_EVENT,
    VIDEO_ERROR_EVENT,
    VIDEO_STATE_EVENT,
    VIDEO_UP,
)
from sst_core.db.models import AuditEntry, DeadLetter, VideoSession
from sst_core.domain import VideoSessionState
from sst_core.objects import open_store
from sst_core.video_messages import (
    MAX_VIDEO_MESSAGE_BYTES,
    UP,
    AnswerVideo,
    CandidateVideo,
    OfferVideo,
    StopVideo,
    VideoState,
)

log = logging.getLogger("sst.backend.video")

_VIEWER_KEY = "sst:video:viewer:"
_RUNTIMES: weakref.WeakKeyDictionary[socketio.AsyncServer, VideoRuntime] = (
    weakref.WeakKeyDictionary()
)


def runtime_of(sio: socketio.AsyncServer) -> VideoRuntime | None:
    """The video runtime serving this Socket.IO server, if the backend runs one."""
    return _RUNTIMES.get(sio)


class VideoRuntime:
    """Video signaling and session lifecycle of one backend process."""

    def __init__(
        self,
        *,
        settings: BackendSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        sio: socketio.AsyncServer,
        feed: LiveFeed | None = None,
    ) -> None:
        self.settings, self.sessionmaker, self.redis, self.sio = settings, sessionmaker, redis, sio
        # Session states go out on the live feed: logged with an id (catch-up), to staff
        # rooms only (guardians never see video events). Without one (tests of this module
        # alone), straight to the staff rooms.
        self.feed = feed
        configured = settings.video_mqtt_password is not None and settings.turn_secret is not None
        self.link = VideoLink(settings) if configured else None
        # Recordings (off unless SST_VIDEO_RECORDING) and their retention sweep, which runs
        # even when recording was switched off since: what was recorded must still go.
        self.recordings = Recordings(
            settings=settings,
            sessionmaker=sessionmaker,
            redis=redis,
            link=self.link,
            store=open_store(settings),
        )
        # Sockets of this process and the sessions they offered for (ended when they leave).
        self._viewing: dict[str, set[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        _RUNTIMES[sio] = self

    @property
    def available(self) -> bool:
        """Whether video can run: TURN secret and broker account configured."""
        return self.link is not None

    async def start(self, stop: asyncio.Event) -> None:
        """Connect to the broker and start the answer relay and the deadline sweep."""
        self._tasks = [
            asyncio.create_task(self.recordings.sweep(stop), name="video-recording-retention")
        ]
        if self.link is None:
            log.warning("video is off: set SST_TURN_SECRET and SST_VIDEO_MQTT_PASSWORD")
            return
        await self.link.start()
        self.recordings.start_spares()
        self._tasks += [
            asyncio.create_task(self._relay_answers(stop), name="video-answers"),
            asyncio.create_task(self._sweep(stop), name="video-sweep"),
        ]

    async def close(self) -> None:
        """Stop the background work, finish the recordings, close the broker link."""
        await self.recordings.close()
        await cancel_all(self._tasks)
        if self.link is not None:
            await self.link.close()

    # -- sessions ---------------------------------------------------------------

    async def opened(self, opened: Opened) -> None:
        """After the request committed: ask the camera agent to start, tell the browsers."""
        assert self.link is not None
        row = opened.row
        self.link.publish(row.hub_serial, opened.start.model_dump_json().encode())
        if row.recorded:  # decided at the request (service.records)
            self.recordings.start(row)
        facility_id = await self._facility_of(row.resident_id)
        await self._announce(
            facility_id, _state(row.id, row.resident_id, row.state, None, row.requested_by)
        )

    async def _announce(
        self, facility_id: int, state: dict[str, Any], also_sid: str | None = None
    ) -> None:
        """A session's state to the staff who follow the resident (and its viewer)."""
        resident_id = int(state["resident_id"])
        if self.feed is not None:
            await self.feed.video_session(
                facility_id=facility_id, resident_id=resident_id, home_id=None, state=state
            )
        else:
            rooms = rooms_of(Target(facility_id, resident_id, None, Audience.STAFF))
            await self.sio.emit(VIDEO_STATE_EVENT, state, to=rooms)
        if also_sid is not None:
            # The viewer may follow nothing (join: false) yet must hear its call ended.
            await self.sio.emit(VIDEO_STATE_EVENT, state, to=also_sid)

    async def end(self, session_id: str, *, reason: str, ended_by: int | None) -> bool:
        """End a session now (hang-up, viewer gone, camera gone); False if it already ended."""
        async with self.sessionmaker() as session, session.begin():
            ended = await repository.end(session, session_id, reason=reason, ended_by=ended_by)
            if ended is not None:
                record_end(session, ended)
        if ended is None:
            return False
        await self._announce_end([ended], tell_camera=not reason.startswith("camera"))
        return True

    async def _announce_end(self, ended: list[repository.Ended], *, tell_camera: bool) -> None:
        for item in ended:
            VIDEO_SESSIONS_ENDED.labels(reason=item.reason.split(":")[0]).inc()
            log.info("video session %s ended: %s", item.id, item.reason)
            self.recordings.stop(item.id)
            if tell_camera and self.link is not None:
                stop = StopVideo(session=item.id, reason=item.reason.split(":")[0][:64])
                self.link.publish(item.hub_serial, stop.model_dump_json(exclude_none=True).encode())
            viewer = await self.redis.getdel(_VIEWER_KEY + item.id)
            sid: str | None = None
            if viewer:
                sid = viewer.decode() if isinstance(viewer, bytes) else str(viewer)
                self._viewing.get(sid, set()).discard(item.id)
            await self._announce(
                item.facility_id,
                _state(item.id, item.resident_id, "ended", item.reason, item.requested_by),
                also_sid=sid,
            )

    async def _sweep(self, stop: asyncio.Event) -> None:
        """End sessions past their deadlines, or whose emergency was resolved."""
        while not stop.is_set():
            try:
                async with self.sessionmaker() as session, session.begin():
                    ended = await repository.end_overdue(session)
                    for item in ended:
                        record_end(session, item)
                if ended:
                    await self._announce_end(ended, tell_camera=True)
            except Exception:  # the database or Redis is away: try again next round
                log.exception("video sweep failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.video_sweep_interval_s)

    async def _facility_of(self, resident_id: int) -> int:
        async with self.sessionmaker() as session:
            resident = await repository.resident(session, resident_id)
        return resident.facility_id if resident is not None else 0

    # -- the viewer's side (Socket.IO) --------------------------------------------

    async def on_viewer(self, sid: str, event: str, data: Any) -> dict[str, Any]:
        """Check and relay one signaling event of a staff browser; the answer is its ack."""
        session_id = data.get("session_id") if isinstance(data, dict) else None
        try:
            message = parse_viewer(event, data)
            await self._relay_viewer(sid, message)
        except Refused as refused:
            return await self._refuse(sid, session_id, refused)
        return {"ok": True}

    async def _relay_viewer(
        self, sid: str, message: ViewerOffer | ViewerCandidate | ViewerHangup
    ) -> None:
        if self.link is None:
            raise Refused("video_unavailable", "Video is not configured on this server.")
        saved = await self.sio.get_session(sid)
        user_id = saved.get("user_id")
        async with self.sessionmaker() as session:
            row = await repository.get(session, message.session_id)
        if row is None:
            raise Refused("unknown_session", "There is no such video session.")
        if row.requested_by is None or row.requested_by != user_id:
            await self._audit_refusal(user_id, row, "not_your_session")
            raise Refused("forbidden", "Only the carer who asked for this session may use it.")
        if row.state == VideoSessionState.ENDED.value:
            raise Refused(
                "session_closed", f"This video session has ended ({row.end_reason or 'ended'})."
            )
        key = _VIEWER_KEY + row.id
        if isinstance(message, ViewerHangup):
            await self.end(row.id, reason="hangup", ended_by=user_id)
            return
        if isinstance(message, ViewerOffer):
            ttl = max(1, int((row.expires_at.timestamp() - time.time()) + 60))
            if not await self.redis.set(key, sid, nx=True, ex=ttl):
                raise Refused("duplicate_offer", "This session already has its offer.")
            self._viewing.setdefault(sid, set()).add(row.id)
            offer = OfferVideo(session=row.id, sdp=message.sdp)
            self.link.publish(row.hub_serial, offer.model_dump_json(exclude_none=True).encode())
            return
        viewer = await self.redis.get(key)
        if viewer is None or (viewer.decode() if isinstance(viewer, bytes) else viewer) != sid:
            raise Refused("no_offer", "Send the offer from this connection before candidates.")
        candidate = CandidateVideo(session=row.id, candidate=message.ice())
        self.link.publish(row.hub_serial, candidate.model_dump_json(exclude_none=True).encode())

    async def _refuse(self, sid: str, session_id: Any, refused: Refused) -> dict[str, Any]:
        VIDEO_REFUSALS.labels(reason=refused.code).inc()
        shown = session_id if isinstance(session_id, str) and len(session_id) <= 64 else None
        log.warning("video signaling from %s refused (%s): %s", sid, refused.code, refused.message)
        error = {"session_id": shown, "code": refused.code, "message": refused.message}
        await self.sio.emit(VIDEO_ERROR_EVENT, error, to=sid)
        return {"ok": False, "error": error}

    async def _audit_refusal(self, user_id: Any, row: VideoSession, reason: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            session.add(
                AuditEntry(
                    actor_id=user_id if isinstance(user_id, int) else None,
                    action="video.refused",
                    target_type="resident",
                    target_id=str(row.resident_id),
                    details={"session": row.id, "reason": reason},
                )
            )

    async def on_disconnect(self, sid: str) -> None:
        """A viewer's socket closed: its sessions end (nothing stays open behind it)."""
        for session_id in self._viewing.pop(sid, set()):
            await self.end(session_id, reason="viewer_left", ended_by=None)

    # -- the camera agent's side (MQTT) -------------------------------------------

    async def _relay_answers(self, stop: asyncio.Event) -> None:
        assert self.link is not None
        while not stop.is_set():
            topic, payload = await self.link.incoming.get()
            try:
                await self.on_camera(topic, payload)
            except Exception:  # one bad message must not stop the relay
                log.exception("video message on %s could not be handled", topic)

    async def on_camera(self, topic: str, payload: bytes) -> None:
        """Check and relay one message of a camera agent."""
        parts = topic.split("/")
        serial = parts[3] if len(parts) == 6 and topic.startswith(HUB_TOPIC_PREFIX) else None
        if serial is None or "/".join(parts[4:]) != VIDEO_UP:
            return await self._dead_letter(None, topic, payload, "bad_topic: not .../video/up")
        if len(payload) > MAX_VIDEO_MESSAGE_BYTES:
            return await self._dead_letter(serial, topic, payload, "too_large: video message")
        try:
            message = UP.validate_json(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return await self._dead_letter(
                serial, topic, payload, f"schema: video: {where}: {first['msg']}"
            )
        async with self.sessionmaker() as session:
            row = await repository.get(session, message.session)
        if row is None:
            return await self._dead_letter(
                serial, topic, payload, f"unknown_session: no video session {message.session}"
            )
        if row.hub_serial != serial:
            # Another hub's session: an answer from the wrong party goes nowhere.
            return await self._dead_letter(
                serial, topic, payload, f"wrong_party: session {message.session} is not this hub's"
            )
        if row.state == VideoSessionState.ENDED.value:
            log.info("video message for ended session %s from %s ignored", row.id, serial)
            return None
        if message.peer == "recorder":
            return await self._from_recorder_peer(row, message)
        if isinstance(message, VideoState):
            if message.state == "connected":
                await self._connected(row)
            else:
                reason = f"camera: {message.reason or 'ended'}"[:64]
                await self.end(row.id, reason=reason, ended_by=None)
            return None
        viewer = await self.redis.get(_VIEWER_KEY + row.id)
        if viewer is None:
            log.info("video %s for session %s has no viewer yet", message.type, row.id)
            return None
        sid = viewer.decode() if isinstance(viewer, bytes) else str(viewer)
        if isinstance(message, AnswerVideo):
            data: dict[str, Any] = {"session_id": row.id, "type": "answer", "sdp": message.sdp}
            await self.sio.emit(VIDEO_ANSWER_EVENT, data, to=sid)
        else:
            assert isinstance(message, CandidateVideo)
            data = {"session_id": row.id, **message.candidate.model_dump()}
            await self.sio.emit(VIDEO_CANDIDATE_EVENT, data, to=sid)
        return None

    async def _from_recorder_peer(
        self, row: VideoSession, message: AnswerVideo | CandidateVideo | VideoState
    ) -> None:
        """The camera's side of the recorder's peer: never the viewer's business."""
        if isinstance(message, AnswerVideo):
            await self.recordings.answer(row.id, message.sdp)
        elif isinstance(message, VideoState):
            log.info(
                "video session %s: recorder peer %s (%s)", row.id, message.state, message.reason
            )

    async def _connected(self, row: VideoSession) -> None:
        async with self.sessionmaker() as session, session.begin():
            changed = await repository.mark_connected(session, row.id)
        if changed:
            self.recordings.connected(row.id)
            facility_id = await self._facility_of(row.resident_id)
            await self._announce(
                facility_id, _state(row.id, row.resident_id, "connected", None, row.requested_by)
            )

    async def _dead_letter(
        self, serial: str | None, topic: str, payload: bytes, reason: str
    ) -> None:
        VIDEO_REFUSALS.labels(reason=reason.split(":")[0]).inc()
        log.warning("video message from %s refused: %s", serial or topic, reason)
        async with self.sessionmaker() as session, session.begin():
            session.add(
                DeadLetter(
                    hub_serial=serial,
                    topic=topic[:1000],
                    reason=reason[:500],
                    excerpt=payload[:500].decode("utf-8", errors="replace"),
                )
            )


def _state(
    session_id: str, resident_id: int, state: str, reason: str | None, requested_by: int | None
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "resident_id": resident_id,
        "state": state,
        "reason": reason,
        "requested_by": requested_by,
    }
