"""Recording an emergency call: the recorder joins through the real coturn (relay only), the
file lands in S3 (moto's server, through boto3), decodes, has its row and audit entries; only
staff who see the resident list and download it; retention and erasure delete it."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import boto3
import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.settings import BackendSettings
from sst_backend.video.recording import RecorderSpares
from sst_backend.video.service import records
from sst_core.const import (
    VIDEO_HANGUP_EVENT,
    VIDEO_STATE_EVENT,
)
from sst_core.db.models import (
    AuditEntry,
    Facility,
    Resident,
    VideoRecording,
    VideoSession,
)
from sst_core.domain import VideoBasis
from sst_core.objects import S3Store, recording_key
from sst_devices.camera_agent import CameraAgent
from tests.factories import HomeFixture, make_home, make_stored_recording
from tests.video.conftest import RECORDING_SWEEP_S, RECORDINGS_BUCKET
from tests.video.scenario import (
    StartEmergency,
    answered_viewer,
    bearer,
    open_emergency,
    request_video,
    session_audit,
    state_is,
)

API = "/api/v1"
FAKE_FILM = b"not a film"


def _s3(settings: BackendSettings) -> Any:
    """A boto3 client of its own on the test S3 server: what is there, not what SST says."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


def _exists(client: Any, key: str) -> bool:
    try:
        client.head_object(Bucket=RECORDINGS_BUCKET, Key=key)
    except client.exceptions.ClientError:
        return False
    return True


def _decoded_frames(data: bytes) -> tuple[int, int, int]:
    """Frames decoded from an MP4 in memory, and their size (width, height)."""
    frames, size = 0, (0, 0)
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        for frame in container.decode(video=0):
            frames += 1
            size = (frame.width, frame.height)
    return frames, *size


async def _stored_recording(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: BackendSettings,
    home: HomeFixture,
    *,
    delete_after: datetime,
) -> tuple[int, str]:
    """A finished session with a stored recording (row + object in S3); (id, key)."""
    stored = await make_stored_recording(
        sessionmaker, home, size_bytes=len(FAKE_FILM), delete_after=delete_after
    )
    client = _s3(settings)
    await asyncio.to_thread(
        client.put_object, Bucket=RECORDINGS_BUCKET, Key=stored.key, Body=FAKE_FILM
    )
    return stored.recording_id, stored.key


async def _finished_recording(
    sessionmaker: async_sessionmaker[AsyncSession], session_id: str
) -> VideoRecording | None:
    """The session's recording once it is no longer being recorded (or after 30 s, as is)."""
    row: VideoRecording | None = None
    for _ in range(300):
        async with sessionmaker() as session:
            row = await session.scalar(
                select(VideoRecording).where(VideoRecording.session_id == session_id)
            )
        if row is not None and row.state != "recording":
            break
        await asyncio.sleep(0.1)
    return row


async def _recorder_connecting(camera: CameraAgent, session_id: str) -> None:
    """Wait (20 s at most) for the recorder's peer at the camera to connect; the caller
    asserts it did."""
    for _ in range(200):
        peers = camera.sessions[session_id].peers
        if "recorder" in peers and peers["recorder"].pc.connectionState == "connected":
            return
        await asyncio.sleep(0.1)


async def test_a_recorded_call_is_stored_decodable_listed_and_audited(
    vhttp: httpx.AsyncClient,
    video_settings: BackendSettings,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    emergency: StartEmergency,
    turn_server: Path,
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Facility).where(Facility.id == home.facility_id).values(video_recording=True)
        )
    scene = await emergency(home)
    camera, carer, started, session_id = scene.camera, scene.carer, scene.started, scene.session_id
    staff = scene.staff
    assert started["recorded"] is True  # the carer is told before looking in

    async with answered_viewer(carer, started) as viewer:
        await asyncio.wait_for(viewer.frames.get(), 30)
        seen_at = time.monotonic()  # the carer sees the home
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "connected"))
        # The recorder joins as the camera's second peer (through the relay, like the viewer).
        for _ in range(200):
            if "recorder" in camera.sessions[session_id].peers:
                break
            await asyncio.sleep(0.1)
        assert "recorder" in camera.sessions[session_id].peers
        recorder_pc = camera.sessions[session_id].peers["recorder"].pc
        for _ in range(200):
            if recorder_pc.connectionState == "connected":
                break
            await asyncio.sleep(0.1)
        assert recorder_pc.connectionState == "connected"
        # A figure for docs/video.md (run with -s), not a bound: the machine is shared.
        print(f"recorder connected {time.monotonic() - seen_at:.2f} s after the first frame")
        await asyncio.sleep(3)  # about three seconds of film
        # The carer's picture went on meanwhile.
        while not viewer.frames.empty():
            viewer.frames.get_nowait()
        await asyncio.wait_for(viewer.frames.get(), 5)
        assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": session_id}) == {"ok": True}
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "ended"))

    row = await _finished_recording(sessionmaker, session_id)
    assert row is not None and row.state == "stored", row and (row.state, row.error)
    key = f"recordings/resident-{home.resident_id}/{session_id}.mp4"
    assert row.object_key == key and row.content_type == "video/mp4"
    assert row.frames is not None and row.frames > 30  # > 1 s at 30 fps
    assert row.duration_s is not None and 1.5 < row.duration_s < 30
    retention = timedelta(days=video_settings.video_recording_retention_days)
    assert abs(row.delete_after - (row.started_at + retention)) < timedelta(minutes=1)

    # What S3 holds, read with a client of our own, is a film a player can decode.
    stored = await asyncio.to_thread(
        lambda: _s3(video_settings).get_object(Bucket=RECORDINGS_BUCKET, Key=key)["Body"].read()
    )
    assert len(stored) == row.size_bytes
    frames, width, height = await asyncio.to_thread(_decoded_frames, stored)
    assert frames > 30 and (width, height) == (320, 240)

    # Listed and downloaded by the carer; the download is audited.
    listed = await vhttp.get(f"{API}/residents/{home.resident_id}/video-recordings", headers=staff)
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()] == [row.id]
    assert listed.json()[0]["state"] == "stored" and listed.json()[0]["frames"] == row.frames
    got = await vhttp.get(
        f"{API}/residents/{home.resident_id}/video-recordings/{row.id}", headers=staff
    )
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    assert got.content == stored

    audit = await session_audit(sessionmaker, session_id)
    actions = [a.action for a in audit]
    assert actions[0] == "video.requested" and audit[0].details["recorded"] is True
    for action in ("video.recording_started", "video.ended", "video.recorded"):
        assert action in actions, actions
    assert actions[-1] == "video.recording_downloaded"
    recorded = next(a for a in audit if a.action == "video.recorded")
    assert recorded.details["key"] == key and recorded.details["size_bytes"] == row.size_bytes
    # The call itself ended as the carer ended it: the recorder changed nothing of it.
    async with sessionmaker() as session:
        call = await session.get(VideoSession, session_id)
    assert call is not None and call.end_reason == "hangup" and call.recorded


async def test_an_unrecorded_facility_records_nothing(
    vhttp: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    cameras: Any,
) -> None:
    await open_emergency(sessionmaker, home.resident_id)
    await cameras(home.hub_serial)
    staff = await bearer(vhttp, home.staff_email, home.password)
    started = await request_video(vhttp, home.resident_id, staff)
    assert started["recorded"] is False


def test_who_is_recorded() -> None:
    on = BackendSettings(video_recording=True)
    off = BackendSettings(video_recording=False)
    alert, consent = VideoBasis.ALERT, VideoBasis.CONSENT
    assert records(on, basis=alert, facility_records=True, resident_consents=False)
    assert records(on, basis=alert, facility_records=False, resident_consents=True)
    assert not records(on, basis=alert, facility_records=False, resident_consents=False)
    # Looking in on consent alone is recorded only with consent to recording itself.
    assert not records(on, basis=consent, facility_records=True, resident_consents=False)
    assert records(on, basis=consent, facility_records=False, resident_consents=True)
    # The operator's switch overrides everything.
    assert not records(off, basis=alert, facility_records=True, resident_consents=True)


async def test_only_staff_who_see_the_resident_list_and_download(
    vhttp: httpx.AsyncClient,
    video_settings: BackendSettings,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    recording_id, _ = await _stored_recording(
        sessionmaker, video_settings, home, delete_after=datetime.now(UTC) + timedelta(days=1)
    )
    other = await make_home(sessionmaker, facility_id=home.facility_id)  # staff not assigned
    listing = f"{API}/residents/{home.resident_id}/video-recordings"
    download = f"{listing}/{recording_id}"
    for email, status in (
        (home.guardian_email, 403),
        (home.admin_email, 403),
        (other.staff_email, 404),
    ):
        headers = await bearer(vhttp, email, home.password)
        assert (await vhttp.get(listing, headers=headers)).status_code == status, email
        got = await vhttp.get(download, headers=headers)
        assert got.status_code == status, email
        assert FAKE_FILM not in got.content
    assert (await vhttp.get(listing)).status_code == 401
    assert (await vhttp.get(download)).status_code == 401
    # A recording of another resident is not reached through this resident's path.
    staff = await bearer(vhttp, other.staff_email, other.password)
    assert (
        await vhttp.get(
            f"{API}/residents/{other.resident_id}/video-recordings/{recording_id}", headers=staff
        )
    ).status_code == 404
    own = await bearer(vhttp, home.staff_email, home.password)
    got = await vhttp.get(download, headers=own)
    assert got.status_code == 200 and got.content == FAKE_FILM
    async with sessionmaker() as session:
        downloads = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "video.recording_downloaded",
                    AuditEntry.target_id == str(home.resident_id),
                )
            )
        ).all()
    assert len(downloads) == 1  # the refused ones read nothing


async def test_the_retention_sweep_deletes_an_expired_recording(
    vhttp: httpx.AsyncClient,
    video_settings: BackendSettings,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    expired_id, expired_key = await _stored_recording(
        sessionmaker, video_settings, home, delete_after=now - timedelta(seconds=1)
    )
    kept_id, kept_key = await _stored_recording(
        sessionmaker, video_settings, home, delete_after=now + timedelta(days=1)
    )
    client = _s3(video_settings)
    # The backend's own sweep (every RECORDING_SWEEP_S here) finds it.
    for _ in range(int(20 / 0.2)):
        async with sessionmaker() as session:
            left = await session.get(VideoRecording, expired_id)
        if left is None:
            break
        await asyncio.sleep(0.2)
    assert left is None, f"not deleted within {20}s (sweep every {RECORDING_SWEEP_S}s)"
    assert not await asyncio.to_thread(_exists, client, expired_key)
    assert await asyncio.to_thread(_exists, client, kept_key)
    async with sessionmaker() as session:
        assert await session.get(VideoRecording, kept_id) is not None
        entry = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "video.recording_deleted",
                AuditEntry.details["recording"].astext == str(expired_id),
            )
        )
    assert entry is not None and entry.details["reason"] == "retention"
    assert entry.details["key"] == expired_key


async def test_erasure_deletes_the_residents_recordings(
    vhttp: httpx.AsyncClient,
    video_settings: BackendSettings,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    _, key = await _stored_recording(sessionmaker, video_settings, home, delete_after=later)
    _, second = await _stored_recording(sessionmaker, video_settings, home, delete_after=later)
    other = await make_home(sessionmaker)
    _, others_key = await _stored_recording(sessionmaker, video_settings, other, delete_after=later)
    admin = await bearer(vhttp, home.admin_email, home.password)
    response = await vhttp.delete(f"{API}/residents/{home.resident_id}", headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["deleted"]["video_recording_files"] == 2
    assert report["deleted"]["video_recordings"] == 2
    assert report["deleted"]["video_sessions"] == 2
    client = _s3(video_settings)
    assert not await asyncio.to_thread(_exists, client, key)
    assert not await asyncio.to_thread(_exists, client, second)
    assert await asyncio.to_thread(_exists, client, others_key)  # nobody else's
    async with sessionmaker() as session:
        assert await session.get(Resident, home.resident_id) is None
        left = await session.scalar(
            select(VideoRecording).where(VideoRecording.resident_id == home.resident_id)
        )
    assert left is None


@pytest.mark.parametrize("state", ["recording", "failed"])
async def test_a_recording_not_stored_is_not_served(
    vhttp: httpx.AsyncClient,
    video_settings: BackendSettings,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    state: str,
) -> None:
    recording_id, _ = await _stored_recording(
        sessionmaker, video_settings, home, delete_after=datetime.now(UTC) + timedelta(days=1)
    )
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(VideoRecording).where(VideoRecording.id == recording_id).values(state=state)
        )
    staff = await bearer(vhttp, home.staff_email, home.password)
    got = await vhttp.get(
        f"{API}/residents/{home.resident_id}/video-recordings/{recording_id}", headers=staff
    )
    assert got.status_code == 409 and got.json()["error"]["code"] == "not_stored"


async def test_a_failing_object_store_fails_the_recording_not_the_call(
    vhttp: httpx.AsyncClient,
    video_settings: BackendSettings,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    emergency: StartEmergency,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable(self: S3Store, key: str, path: Path) -> None:
        raise OSError("the object store is unreachable")

    # The backend runs in this process: its S3 uploads now fail as an outage would.
    monkeypatch.setattr(S3Store, "put_file", unavailable)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Resident)
            .where(Resident.id == home.resident_id)
            .values(video_recording_consent=True)
        )
    scene = await emergency(home)
    camera, carer, started, session_id = scene.camera, scene.carer, scene.started, scene.session_id
    assert started["recorded"] is True
    async with answered_viewer(carer, started):
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "connected"))
        await _recorder_connecting(camera, session_id)
        assert camera.sessions[session_id].peers["recorder"].pc.connectionState == "connected"
        await asyncio.sleep(1)
        assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": session_id}) == {"ok": True}
        ended = await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "ended"))
        assert ended["reason"] == "hangup"
    row = await _finished_recording(sessionmaker, session_id)
    assert row is not None and row.state == "failed"
    assert row.error is not None and "unreachable" in row.error and row.object_key is None
    key = recording_key(home.resident_id, session_id)
    assert not await asyncio.to_thread(_exists, _s3(video_settings), key)
    async with sessionmaker() as session:
        failed = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "video.recording_failed",
                AuditEntry.details["session"].astext == session_id,
            )
        )
        call = await session.get(VideoSession, session_id)
    assert failed is not None and "unreachable" in failed.details["error"]
    assert call is not None and call.end_reason == "hangup" and call.connected_at is not None


async def test_a_viewer_keeps_the_picture_while_the_recorder_fails_to_connect(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession], emergency: StartEmergency
) -> None:
    """The camera's peer of the recorder breaks mid-call: the carer's call goes on, and what
    reached the recorder until then is kept."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Facility).where(Facility.id == home.facility_id).values(video_recording=True)
        )
    scene = await emergency(home)
    camera, carer, session_id = scene.camera, scene.carer, scene.session_id
    async with answered_viewer(carer, scene.started) as viewer:
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "connected"))
        await _recorder_connecting(camera, session_id)
        assert camera.sessions[session_id].peers["recorder"].pc.connectionState == "connected"
        await asyncio.sleep(1)
        # The recorder's peer breaks at the camera (as a failed ICE path would).
        await camera._close_peer(session_id, "recorder", tell="connection failed")
        await asyncio.sleep(2)
        while not viewer.frames.empty():
            viewer.frames.get_nowait()
        await asyncio.wait_for(viewer.frames.get(), 5)  # the carer still sees the home
        assert session_id in camera.sessions
        async with sessionmaker() as session:
            call = await session.get(VideoSession, session_id)
        assert call is not None and call.state == "connected"
        assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": session_id}) == {"ok": True}
    row = await _finished_recording(sessionmaker, session_id)
    assert row is not None and row.state == "stored", row and (row.state, row.error)
    assert row.frames is not None and row.frames > 0


# -- spare recorders -----------------------------------------------------------------------


async def _spare_ready(spares: RecorderSpares, count: int) -> list[Any]:
    for _ in range(600):
        if len(spares.ready) >= count:
            return spares.ready
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} spare recorder(s) not ready within 60 s")


async def test_a_spare_recorder_is_taken_then_replaced_and_ended_at_close() -> None:
    spares = RecorderSpares(1)
    try:
        spares.fill()
        [spare] = await _spare_ready(spares, 1)
        assert spare.returncode is None
        taken = await spares.take()
        assert taken.pid == spare.pid  # the one already loaded, not a new one
        [replacement] = await _spare_ready(spares, 1)
        assert replacement.pid != spare.pid and replacement.returncode is None
    finally:
        await spares.close()
    assert replacement.returncode is not None  # close ended the idle spare
    assert spares.ready == []
    # The taken one is its recording's to end: closing its input ends it, as after a job.
    assert taken.stdin is not None
    taken.stdin.close()
    assert await asyncio.wait_for(taken.wait(), 10) is not None


async def test_a_dead_spare_is_passed_over() -> None:
    spares = RecorderSpares(1)
    try:
        spares.fill()
        [spare] = await _spare_ready(spares, 1)
        spare.kill()
        await spare.wait()
        taken = await spares.take()
        assert taken.pid != spare.pid and taken.returncode is None
    finally:
        await spares.close()
        assert taken.stdin is not None
        taken.stdin.close()
        await asyncio.wait_for(taken.wait(), 10)


async def test_without_spares_a_recorder_starts_on_demand() -> None:
    spares = RecorderSpares(0)
    spares.fill()
    assert spares.ready == []
    taken = await spares.take()  # started now, and ready (it said so) when returned
    try:
        assert taken.returncode is None and spares.ready == []
    finally:
        await spares.close()
        assert taken.stdin is not None
        taken.stdin.close()
        await asyncio.wait_for(taken.wait(), 10)
