"""Bad signaling is refused with a clear error event, logged, and leaves nothing half-open."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import (
    VIDEO_ANSWER_EVENT,
    VIDEO_CANDIDATE_EVENT,
    VIDEO_ERROR_EVENT,
    VIDEO_HANGUP_EVENT,
    VIDEO_OFFER_EVENT,
    VIDEO_STATE_EVENT,
    VIDEO_UP,
    hub_topic,
)
from sst_core.db.models import DeadLetter, VideoSession
from sst_devices.video_viewer import Viewer
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.factories import PASSWORD, HomeFixture, make_home
from tests.video.scenario import (
    StartEmergency,
    answered_viewer,
    bearer,
    camera_closing,
    open_emergency,
    request_video,
)

CANDIDATE = {
    "candidate": "candidate:1 1 udp 16777215 127.0.0.1 50000 typ relay raddr 0.0.0.0 rport 9",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


async def _refused(carer: Any, event: str, data: Any, code: str) -> dict[str, Any]:
    ack = await carer.send(event, data)
    assert ack["ok"] is False, (event, data, ack)
    assert ack["error"]["code"] == code, (event, data, ack)
    assert ack["error"]["message"]
    assert await carer.next(VIDEO_ERROR_EVENT) == ack["error"]
    return dict(ack["error"])


def _publish_up(serial: str, payload: bytes) -> None:
    """Publish as a hub's camera agent would (the test devices login)."""
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(MQTT_USERNAME, MQTT_PASSWORD)
    client.on_publish = lambda *_: done.set()
    client.connect(MQTT_HOST, MQTT_PORT)
    client.loop_start()
    client.publish(hub_topic(serial, VIDEO_UP), payload, qos=1)
    assert done.wait(10)
    client.disconnect()
    client.loop_stop()


async def _dead_letter(sessionmaker: async_sessionmaker[AsyncSession], serial: str) -> DeadLetter:
    for _ in range(100):
        async with sessionmaker() as session:
            found = (
                await session.scalars(
                    select(DeadLetter)
                    .where(DeadLetter.hub_serial == serial)
                    .order_by(DeadLetter.id)
                )
            ).all()
        if found:
            return found[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no dead letter for {serial}")


async def test_malformed_and_misplaced_signaling_is_refused(
    home: HomeFixture, emergency: StartEmergency
) -> None:
    scene = await emergency(home)
    camera, carer, started, sid = scene.camera, scene.carer, scene.started, scene.session_id
    for data in (
        None,
        "offer please",
        [sid],
        {},
        {"session_id": "../../etc"},
        {"session_id": sid, "sdp": "v=0"},  # too short to be an offer
        {"session_id": sid, "sdp": "v=0\r\n" * 10, "type": "answer"},  # an answer from the viewer
        {"session_id": sid, "sdp": "v=0\r\n" * 10, "extra": 1},
        {"session_id": sid, "sdp": "x" * 30_000},
        ({"session_id": sid, "sdp": "v=0\r\n" * 10}, "a second argument"),
    ):
        error = await _refused(carer, VIDEO_OFFER_EVENT, data, "malformed")
        assert error["code"] == "malformed"
    bad_candidate = {**CANDIDATE, "sdpMLineIndex": -1}
    await _refused(carer, VIDEO_CANDIDATE_EVENT, {"session_id": sid, **bad_candidate}, "malformed")
    await _refused(
        carer,
        VIDEO_OFFER_EVENT,
        {"session_id": uuid.uuid4().hex, "sdp": "v=0\r\n" * 4},
        "unknown_session",
    )
    # Candidates before the offer have no peer to go to.
    await _refused(carer, VIDEO_CANDIDATE_EVENT, {"session_id": sid, **CANDIDATE}, "no_offer")

    viewer = Viewer(started["ice_servers"], relay_only=True)
    try:
        offer = {"session_id": sid, "sdp": await viewer.offer()}
        assert await carer.send(VIDEO_OFFER_EVENT, offer) == {"ok": True}
        await _refused(carer, VIDEO_OFFER_EVENT, offer, "duplicate_offer")
        await carer.next(VIDEO_ANSWER_EVENT)
        # A trickled candidate of the viewer reaches the camera agent without harm.
        ack = await carer.send(VIDEO_CANDIDATE_EVENT, {"session_id": sid, **CANDIDATE})
        assert ack == {"ok": True}
        assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": sid}) == {"ok": True}
        await carer.next(VIDEO_STATE_EVENT, where=lambda d: d["state"] == "ended")
    finally:
        await viewer.close()
    # A closed session takes nothing more.
    for event, data in (
        (VIDEO_CANDIDATE_EVENT, {"session_id": sid, **CANDIDATE}),
        (VIDEO_OFFER_EVENT, offer),
        (VIDEO_HANGUP_EVENT, {"session_id": sid}),
    ):
        await _refused(carer, event, data, "session_closed")
    await camera_closing(camera)
    assert not camera.sessions


async def test_a_viewer_leaving_ends_its_session_and_the_camera(
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    carers: Any,
    emergency: StartEmergency,
) -> None:
    scene = await emergency(home)
    camera, carer, started = scene.camera, scene.carer, scene.started
    watcher = await carers(home.staff_email, PASSWORD)  # the same carer's second tab
    async with answered_viewer(carer, started):
        assert started["id"] in camera.sessions
        await carer.close()  # the browser tab closes mid-call
        ended = await watcher.next(
            VIDEO_STATE_EVENT,
            where=lambda d: d["session_id"] == started["id"] and d["state"] == "ended",
        )
        assert ended["reason"] == "viewer_left"
    await camera_closing(camera)
    assert not camera.sessions
    async with sessionmaker() as session:
        row = await session.get(VideoSession, started["id"])
    assert row is not None and row.state == "ended" and row.end_reason == "viewer_left"


async def test_camera_messages_from_the_wrong_hub_or_malformed_are_dead_lettered(
    vhttp: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    carers: Any,
) -> None:
    await open_emergency(sessionmaker, home.resident_id)
    other = await make_home(sessionmaker)
    carer = await carers(home.staff_email, PASSWORD)
    started = await request_video(
        vhttp, home.resident_id, await bearer(vhttp, home.staff_email, PASSWORD)
    )
    viewer = Viewer(started["ice_servers"], relay_only=True)
    try:
        offer = {"session_id": started["id"], "sdp": await viewer.offer()}
        assert await carer.send(VIDEO_OFFER_EVENT, offer) == {"ok": True}
    finally:
        await viewer.close()
    # Another hub answers for this session: the answer goes nowhere and is recorded.
    forged = {"v": 1, "type": "answer", "session": started["id"], "sdp": "v=0\r\n" * 10}
    await asyncio.to_thread(_publish_up, other.hub_serial, orjson.dumps(forged))
    letter = await _dead_letter(sessionmaker, other.hub_serial)
    assert letter.reason.startswith("wrong_party:"), letter.reason
    # The right hub, but not JSON / not the contract.
    await asyncio.to_thread(_publish_up, home.hub_serial, b"\xff\xfe not json")
    letter = await _dead_letter(sessionmaker, home.hub_serial)
    assert letter.reason.startswith("schema: video"), letter.reason
    # A session nobody asked for.
    stray = {"v": 1, "type": "state", "session": uuid.uuid4().hex, "state": "connected"}
    await asyncio.to_thread(_publish_up, home.hub_serial, orjson.dumps(stray))
    for _ in range(100):
        letter = await _dead_letter(sessionmaker, home.hub_serial)
        if letter.reason.startswith("unknown_session:"):
            break
        await asyncio.sleep(0.1)
    assert letter.reason.startswith("unknown_session:"), letter.reason
    await asyncio.sleep(0.5)
    assert carer.inbox[VIDEO_ANSWER_EVENT].empty(), "a forged answer reached the carer"
    async with sessionmaker() as session:
        row = await session.get(VideoSession, started["id"])
    assert row is not None and row.state == "requested"
    assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": started["id"]}) == {"ok": True}
