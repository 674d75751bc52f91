"""Recording emergency video sessions: the recorder process, the upload, the row, retention.

When a recorded session connects (media reaches the carer), the backend that saw it
starts a recorder (`sst_backend.video.recorder`, a child process) as a second receiver of
the camera: its offer goes down with `"peer": "recorder"`, the camera's answer comes back
on `video/up` to any backend and reaches this one through a Redis list. When the session
ends, the file is uploaded through the object store under
`recordings/resident-<id>/<session>.mp4`, and its row says where, how big, how long.
Nothing here may break the live call: every failure is caught, recorded on the row
(`failed`, with why) and audited, and the camera is told to drop only the recorder's peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.settings import BackendSettings
from sst_backend.tasks import cancel_all
from sst_backend.video import recordings_repository as repository
from sst_backend.video.link import VideoLink
from sst_backend.video.turn import ice_servers
from sst_core.db.models import AuditEntry, VideoSession
from sst_core.domain import VideoSessionState
from sst_core.objects import ObjectStore, recording_key
from sst_core.video_messages import OfferVideo, StopVideo

log = logging.getLogger("sst.backend.video.recording")

ANSWER_KEY = "sst:video:recorder-answer:"
CONTENT_TYPE = "video/mp4"
_PREPARE_TIMEOUT_S = 60.0
_ANSWER_TIMEOUT_S = 20.0
_RESULT_TIMEOUT_S = 60.0
_WATCH_INTERVAL_S = 1.0


@dataclass
class _Recording:
    session_id: str
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class _Pipe:
    """The recorder process's JSON lines, both ways."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.stdin, self.stdout = process.stdin, process.stdout

    async def say(self, message: dict[str, Any]) -> None:
        """One message to the recorder."""
        self.stdin.write((json.dumps(message) + "\n").encode())
        await self.stdin.drain()

    async def hear(self, within_s: float) -> dict[str, Any]:
        """The recorder's next message."""
        line = await asyncio.wait_for(self.stdout.readline(), within_s)
        if not line:
            raise RuntimeError("the recorder process stopped")
        reply: dict[str, Any] = json.loads(line)
        return reply


async def _spawn() -> asyncio.subprocess.Process:
    """A recorder process, once it says aiortc is loaded (killed if it does not)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sst_backend.video.recorder",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        ready = await _Pipe(process).hear(_PREPARE_TIMEOUT_S)
        if ready.get("type") != "ready":
            raise RuntimeError(f"the recorder did not start: {ready}")
    except BaseException:
        await _reap(process)
        raise
    return process


class RecorderSpares:
    """Recorder processes started ahead, each idle with aiortc loaded, waiting for a job.

    Loading aiortc in a fresh process takes seconds (4-7 s measured on a busy 2-core
    machine), which was the start of every recorded call missing from its recording. A
    spare takes its job at once; another is started in the background to replace it. A
    spare that died meanwhile is reaped and passed over. With `count` 0, or when none is
    ready yet, a recorder is started on demand as before.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._ready: list[asyncio.subprocess.Process] = []
        self._starting: set[asyncio.Task[asyncio.subprocess.Process | None]] = set()
        self._closed = False

    def fill(self) -> None:
        """Start spares until `count` are ready or on their way."""
        while not self._closed and len(self._ready) + len(self._starting) < self.count:
            task = asyncio.create_task(self._start_one(), name="recorder-spare")
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _start_one(self) -> asyncio.subprocess.Process | None:
        try:
            process = await _spawn()
        except Exception:
            log.exception("a spare recorder did not start; recordings start theirs on demand")
            return None
        if self._closed:
            await _reap(process)
            return None
        self._ready.append(process)
        return process

    @property
    def ready(self) -> list[asyncio.subprocess.Process]:
        """The spares idle now (alive or not yet seen dead)."""
        return list(self._ready)

    async def take(self) -> asyncio.subprocess.Process:
        """A recorder ready for its job: a spare if one is alive, else a new one."""
        while self._ready:
            process = self._ready.pop(0)
            if process.returncode is None:
                self.fill()
                return process
            log.warning("a spare recorder had exited (%s); passing it over", process.returncode)
            await _reap(process)
        self.fill()
        return await _spawn()

    async def close(self) -> None:
        """Stop starting spares and end the idle ones (the backend is stopping)."""
        self._closed = True
        await cancel_all(set(self._starting))
        for process in self._ready:
            await _reap(process)
        self._ready.clear()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Close the recorder's input and see it exit (killed if it lingers)."""
    if process.stdin is not None:
        with contextlib.suppress(ConnectionError, OSError):
            process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


def _audit(session: AsyncSession, action: str, resident_id: int, details: dict[str, Any]) -> None:
    session.add(
        AuditEntry(
            actor_id=None,
            action=action,
            target_type="resident",
            target_id=str(resident_id),
            details=details,
        )
    )


class Recordings:
    """The recordings of one backend process, and the retention sweep (in every backend)."""

    def __init__(
        self,
        *,
        settings: BackendSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        link: VideoLink | None,
        store: ObjectStore,
    ) -> None:
        self.settings, self.sessionmaker, self.redis = settings, sessionmaker, redis
        self.link, self.store = link, store
        self.running: dict[str, _Recording] = {}
        recording = settings.video_recording and link is not None
        self.spares = RecorderSpares(settings.video_recording_spares if recording else 0)

    def start_spares(self) -> None:
        """Start the spare recorders (in the running event loop)."""
        self.spares.fill()

    # -- one session ------------------------------------------------------------------

    def start(self, row: VideoSession) -> None:
        """Get ready to record a session just requested; it records once media flows."""
        if row.id in self.running or self.link is None:
            return
        recording = _Recording(row.id)
        self.running[row.id] = recording
        recording.task = asyncio.create_task(self._record(row, recording), name=f"rec-{row.id}")

    def connected(self, session_id: str) -> None:
        """Media flows to the carer: the recorder joins (if this backend records it)."""
        recording = self.running.get(session_id)
        if recording is not None:
            recording.connected.set()

    def stop(self, session_id: str) -> None:
        """The session ended: finish its recording (if this backend makes it)."""
        recording = self.running.get(session_id)
        if recording is not None:
            recording.stop.set()

    async def answer(self, session_id: str, sdp: str) -> None:
        """The camera's answer to a recorder's offer, for whichever backend records it."""
        key = ANSWER_KEY + session_id
        await self.redis.rpush(key, sdp)
        await self.redis.expire(key, 120)

    async def close(self) -> None:
        """Finish every recording of this process and end the spares (the backend stops)."""
        await self.spares.close()
        for recording in list(self.running.values()):
            recording.stop.set()
        tasks = [r.task for r in self.running.values() if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_RESULT_TIMEOUT_S)

    async def _record(self, row: VideoSession, recording: _Recording) -> None:
        recording_id: int | None = None
        folder = Path(
            tempfile.mkdtemp(prefix="sst-rec-", dir=self.settings.video_recording_tmp_dir)
        )
        path = folder / f"{row.id}.mp4"
        process: asyncio.subprocess.Process | None = None
        try:
            # Taken with the request: a spare has aiortc loaded already; gathering the TURN
            # relay is done while the carer's own call connects.
            process = await self.spares.take()
            pipe = _Pipe(process)
            offer = await self._prepare(row, pipe, path)
            # Recording starts when the carer sees the home (media flows), not before.
            if not await self._until(row, recording, VideoSessionState.CONNECTED):
                log.info("video session %s never connected: nothing recorded", row.id)
                return
            delete_after = datetime.now(UTC) + timedelta(
                days=self.settings.video_recording_retention_days
            )
            async with self.sessionmaker() as session, session.begin():
                started = await repository.start(
                    session,
                    session_id=row.id,
                    resident_id=row.resident_id,
                    delete_after=delete_after,
                )
                recording_id = started.id
                _audit(
                    session,
                    "video.recording_started",
                    row.resident_id,
                    {"session": row.id, "recording": recording_id, "basis": row.basis},
                )
            result = await self._capture(row, recording, pipe, offer)
            await self._store(row, recording_id, result, path)
        except Exception as exc:  # never let a recording touch the live call
            log.exception("recording of video session %s failed", row.id)
            if recording_id is not None:
                await self._fail(row, recording_id, f"{type(exc).__name__}: {exc}")
        finally:
            self.running.pop(row.id, None)
            if process is not None:
                await _reap(process)
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _prepare(self, row: VideoSession, pipe: _Pipe, path: Path) -> str:
        """Give the recorder its job; its offer (SDP with its TURN relay candidates)."""
        expires_s = int(row.expires_at.timestamp()) + 60
        servers = ice_servers(self.settings, session_id=row.id, expires_at_s=expires_s)
        remaining = max(1.0, row.expires_at.timestamp() - datetime.now(UTC).timestamp())
        await pipe.say(
            {
                "ice_servers": [s.model_dump() for s in servers],
                "relay_only": self.settings.video_relay_only,
                "path": str(path),
                "max_s": remaining + 5,
            }
        )
        offer = await pipe.hear(_PREPARE_TIMEOUT_S)
        if offer.get("type") != "offer":
            raise RuntimeError(f"the recorder did not offer: {offer.get('error', offer)}")
        return str(offer["sdp"])

    async def _capture(
        self, row: VideoSession, recording: _Recording, pipe: _Pipe, offer: str
    ) -> dict[str, Any]:
        """Join the session as the camera's second receiver until it ends; the report."""
        down = OfferVideo(session=row.id, sdp=offer, peer="recorder")
        assert self.link is not None
        self.link.publish(row.hub_serial, down.model_dump_json(exclude_none=True).encode())
        answered = await self.redis.blpop([ANSWER_KEY + row.id], timeout=_ANSWER_TIMEOUT_S)
        if answered is None:
            raise RuntimeError("the camera did not answer the recorder")
        sdp = answered[1].decode() if isinstance(answered[1], bytes) else str(answered[1])
        await pipe.say({"type": "answer", "sdp": sdp})
        await self._until(row, recording, VideoSessionState.ENDED)
        with contextlib.suppress(ConnectionError):
            await pipe.say({"type": "stop"})
        return await pipe.hear(_RESULT_TIMEOUT_S)

    async def _until(self, row: VideoSession, recording: _Recording, state: str) -> bool:
        """Wait until the session is in `state` (connected) or over; whether it got there.

        This backend hears of its own sessions at once (`connected`, `stop`); one that
        another backend connected or ended is seen in its row, within a second.
        """
        event = recording.connected if state == VideoSessionState.CONNECTED else recording.stop
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), _WATCH_INTERVAL_S)
            if event.is_set():
                return True
            if recording.stop.is_set() or datetime.now(UTC) >= row.expires_at:
                return state == VideoSessionState.ENDED
            async with self.sessionmaker() as session:
                now = await repository.session_state(session, row.id)
            if now == state:
                return True
            if now in (None, VideoSessionState.ENDED.value):
                return state == VideoSessionState.ENDED

    async def _store(
        self, row: VideoSession, recording_id: int, result: dict[str, Any], path: Path
    ) -> None:
        if result.get("type") != "done":
            await self._fail(row, recording_id, str(result.get("error", "no recording")))
            return
        key = recording_key(row.resident_id, row.id)
        await asyncio.to_thread(self.store.put_file, key, path)
        async with self.sessionmaker() as session, session.begin():
            kept = await repository.stored(
                session,
                recording_id,
                key=key,
                content_type=CONTENT_TYPE,
                size_bytes=int(result["size_bytes"]),
                duration_s=float(result["duration_s"]),
                frames=int(result["frames"]),
            )
            if kept:
                _audit(
                    session,
                    "video.recorded",
                    row.resident_id,
                    {
                        "session": row.id,
                        "recording": recording_id,
                        "key": key,
                        "size_bytes": int(result["size_bytes"]),
                        "duration_s": float(result["duration_s"]),
                        "frames": int(result["frames"]),
                    },
                )
        if not kept:
            # The resident was erased meanwhile: their recording must not outlive them.
            await asyncio.to_thread(self.store.delete, key)
            log.info("recording of session %s dropped: its row is gone", row.id)
            return
        log.info("video session %s recorded: %s (%s bytes)", row.id, key, result["size_bytes"])

    async def _fail(self, row: VideoSession, recording_id: int, error: str) -> None:
        log.warning("recording of video session %s failed: %s", row.id, error)
        stop = StopVideo(session=row.id, reason="recording failed", peer="recorder")
        with contextlib.suppress(Exception):
            assert self.link is not None
            self.link.publish(row.hub_serial, stop.model_dump_json(exclude_none=True).encode())
        try:
            async with self.sessionmaker() as session, session.begin():
                if await repository.failed(session, recording_id, error=error):
                    _audit(
                        session,
                        "video.recording_failed",
                        row.resident_id,
                        {"session": row.id, "recording": recording_id, "error": error[:300]},
                    )
        except Exception:  # the database is away too; the sweep marks it lost later
            log.exception("could not record the failure of recording %s", recording_id)

    # -- retention --------------------------------------------------------------------

    async def sweep_once(self, *, batch: int = 100) -> int:
        """Delete recordings past their retention (object first, then row); how many."""
        deleted = 0
        async with self.sessionmaker() as session, session.begin():
            lost_after = timedelta(seconds=self.settings.video_max_s + 300)
            for lost in await repository.abandon_lost(session, older_than=lost_after):
                _audit(
                    session,
                    "video.recording_failed",
                    lost.resident_id,
                    {"session": lost.session_id, "recording": lost.id, "error": lost.error},
                )
            for row in await repository.expired(session, limit=batch):
                if row.object_key is not None:
                    # A failure raises: the transaction rolls back and the next round retries.
                    await asyncio.to_thread(self.store.delete, row.object_key)
                await repository.remove(session, row.id)
                _audit(
                    session,
                    "video.recording_deleted",
                    row.resident_id,
                    {
                        "session": row.session_id,
                        "recording": row.id,
                        "key": row.object_key,
                        "reason": "retention",
                        "delete_after": row.delete_after.isoformat(),
                    },
                )
                deleted += 1
        return deleted

    async def sweep(self, stop: asyncio.Event) -> None:
        """Run the retention sweep every `video_recording_sweep_interval_s`."""
        while not stop.is_set():
            try:
                deleted = await self.sweep_once()
                if deleted:
                    log.info("%d expired video recordings deleted", deleted)
            except Exception:  # the store or the database is away: next round
                log.exception("recording retention sweep failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.video_recording_sweep_interval_s)
