"""A whole emergency call: staff request, camera agent over MQTT, signaling through the
backend, media through a real coturn only (relay policy on both sides), frames decoded."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import (
    VIDEO_ANSWER_EVENT,
    VIDEO_CANDIDATE_EVENT,
    VIDEO_HANGUP_EVENT,
    VIDEO_OFFER_EVENT,
    VIDEO_STATE_EVENT,
)
from sst_core.db.models import VideoSession
from sst_devices.video_viewer import Viewer, candidate_types
from tests.factories import HomeFixture
from tests.video.scenario import (
    StartEmergency,
    answered_viewer,
    camera_closing,
    session_audit,
    state_is,
)


async def test_relay_only_call_delivers_frames_and_is_audited(
    vhttp: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    emergency: StartEmergency,
    turn_server: Path,
) -> None:
    scene = await emergency(home)
    camera, carer, started, session_id = scene.camera, scene.carer, scene.started, scene.session_id
    assert started["basis"] == "alert" and started["alert_id"] == scene.alert_id
    assert started["ice_transport_policy"] == "relay"
    (server,) = started["ice_servers"]
    # coturn's REST scheme: "<expiry>:<session>", expiring a little after the session.
    expiry, named = server["username"].split(":")
    assert named == session_id and int(expiry) > 0 and server["credential"]
    requested = await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "requested"))
    assert requested["resident_id"] == home.resident_id

    viewer = Viewer(started["ice_servers"], relay_only=True)
    try:
        offer = await viewer.offer()
        assert candidate_types(offer) == {"relay"}, offer
        ack = await carer.send(VIDEO_OFFER_EVENT, {"session_id": session_id, "sdp": offer})
        assert ack == {"ok": True}
        answer = await carer.next(VIDEO_ANSWER_EVENT)
        assert answer["session_id"] == session_id and answer["type"] == "answer"
        # The camera's side was relay-only too: media can only cross the TURN server.
        assert candidate_types(answer["sdp"]) == {"relay"}, answer["sdp"]
        await viewer.accept(answer["sdp"])

        _, first = await asyncio.wait_for(viewer.frames.get(), 30)
        for _ in range(5):
            _, last = await asyncio.wait_for(viewer.frames.get(), 10)
        assert (first.width, first.height) == (320, 240)
        # A live picture, not a frozen one: the test pattern moves from frame to frame.
        assert not np.array_equal(first.to_ndarray(format="rgb24"), last.to_ndarray(format="rgb24"))
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "connected"))
        assert session_id in camera.sessions
        # Another carer opening the panel sees who is already watching.
        listed = await vhttp.get(
            f"/api/v1/residents/{home.resident_id}/video-sessions", headers=scene.staff
        )
        assert listed.status_code == 200, listed.text
        newest = listed.json()[0]
        assert (newest["id"], newest["state"]) == (session_id, "connected")
        assert newest["requested_by_name"] == started["requested_by_name"]
        assert newest["requested_by_name"], started
        # coturn allocated relays for this session's credential (and no other way was open).
        log = await asyncio.to_thread(turn_server.read_text, errors="replace")
        assert re.search(rf"{expiry}:{session_id}", log), "coturn never saw the session"

        ack = await carer.send(VIDEO_HANGUP_EVENT, {"session_id": session_id})
        assert ack == {"ok": True}
        ended = await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "ended"))
        assert ended["reason"] == "hangup"
    finally:
        await viewer.close()

    await camera_closing(camera, session_id)  # it closes its peer on the backend's stop
    assert session_id not in camera.sessions
    async with sessionmaker() as session:
        row = await session.get(VideoSession, session_id)
        assert row is not None and row.state == "ended" and row.end_reason == "hangup"
        assert row.connected_at is not None and row.ended_at is not None
    audit = await session_audit(sessionmaker, session_id)
    assert [a.action for a in audit] == ["video.requested", "video.ended"]
    requested_entry, ended_entry = audit
    assert requested_entry.details["basis"] == "alert"
    assert ended_entry.details["requested_by"] == requested_entry.actor_id
    assert ended_entry.details["reason"] == "hangup"
    assert ended_entry.details["watched_s"] > 0
    assert ended_entry.details["duration_s"] >= ended_entry.details["watched_s"]


async def test_a_call_past_its_time_limit_ends_and_the_camera_closes(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession], emergency: StartEmergency
) -> None:
    scene = await emergency(home)
    camera, carer, session_id = scene.camera, scene.carer, scene.session_id
    async with answered_viewer(carer, scene.started):
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "connected"))
        # Its time is up (SST_VIDEO_MAX_S, here brought forward rather than waited for).
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(VideoSession)
                .where(VideoSession.id == session_id)
                .values(expires_at=func.now() - timedelta(seconds=1))
            )
        ended = await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "ended"))
        assert ended["reason"] == "timeout"
    await camera_closing(camera, session_id)
    assert session_id not in camera.sessions


async def test_a_browser_style_trickled_offer_connects(
    home: HomeFixture, emergency: StartEmergency
) -> None:
    """Browsers send the offer first and their candidates after it, then an empty one."""
    scene = await emergency(home)
    carer, started, session_id = scene.carer, scene.started, scene.session_id
    viewer = Viewer(started["ice_servers"], relay_only=True)
    try:
        sdp, candidates = await viewer.trickled_offer()
        assert (
            "a=candidate" not in sdp and len(candidates) >= 2 and candidates[-1]["candidate"] == ""
        )
        offer = {"session_id": session_id, "sdp": sdp, "type": "offer"}
        assert await carer.send(VIDEO_OFFER_EVENT, offer) == {"ok": True}
        for candidate in candidates:
            ack = await carer.send(VIDEO_CANDIDATE_EVENT, {"session_id": session_id, **candidate})
            assert ack == {"ok": True}, ack
        await viewer.accept((await carer.next(VIDEO_ANSWER_EVENT))["sdp"])
        await asyncio.wait_for(viewer.frames.get(), 30)
        await carer.next(VIDEO_STATE_EVENT, where=state_is(session_id, "connected"))
        assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": session_id}) == {"ok": True}
    finally:
        await viewer.close()
