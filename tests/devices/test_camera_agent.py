"""The reference camera agent on its own: it ignores what is not the contract, never keeps a
session past its expiry (even with no backend to stop it), and caps its sessions."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from sst_core.const import VIDEO_DOWN, VIDEO_UP, hub_topic
from sst_devices.camera_agent import CameraAgent
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME

ICE = [{"urls": ["turn:127.0.0.1:9?transport=udp"], "username": "1:x", "credential": "x"}]


def _publish(serial: str, *payloads: bytes) -> None:
    """Publish to the hub's video/down as the backend would (QoS 1, acknowledged)."""
    acked = threading.Semaphore(0)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(MQTT_USERNAME, MQTT_PASSWORD)
    client.on_publish = lambda *_: acked.release()
    client.connect(MQTT_HOST, MQTT_PORT)
    client.loop_start()
    for payload in payloads:
        client.publish(hub_topic(serial, VIDEO_DOWN), payload, qos=1)
    for _ in payloads:
        assert acked.acquire(timeout=10)
    client.disconnect()
    client.loop_stop()


def _start(session: str, expires_in_s: float) -> bytes:
    expires_at = int((time.time() + expires_in_s) * 1000)
    message = {"v": 1, "type": "start", "session": session, "ice_servers": ICE}
    return orjson.dumps({**message, "relay_only": True, "expires_at": expires_at})


async def _until(check: Any, within_s: float = 10) -> None:
    for _ in range(int(within_s / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_camera_agent_expires_ignores_garbage_and_caps_sessions(listen: Any) -> None:
    serial = f"hub-cam-{uuid.uuid4().hex[:8]}"
    agent = CameraAgent(
        serial, host=MQTT_HOST, port=MQTT_PORT, username=MQTT_USERNAME, password=MQTT_PASSWORD
    )
    up = listen(hub_topic(serial, VIDEO_UP))
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await asyncio.wait_for(agent.ready.wait(), 10)
        garbage = [
            b"{",
            b"\xff\xfe",
            b'{"v":1,"type":"start"}',
            b'{"v":2,"type":"stop","session":"' + b"a" * 32 + b'","reason":"x"}',
            b'{"v":1,"type":"offer","session":"' + b"b" * 32 + b'","sdp":"v=0 unknown session"}',
            b" " * 40_000,
        ]
        short = uuid.uuid4().hex
        await asyncio.to_thread(_publish, serial, *garbage, _start(short, 1.5))
        await _until(lambda: short in agent.sessions)
        # Nobody stops it: the agent ends it at its expiry and says so.
        seen = orjson.loads((await asyncio.to_thread(up.next, None, 10)).payload)
        assert seen == {
            "v": 1,
            "type": "state",
            "session": short,
            "state": "ended",
            "reason": "expired",
        }
        assert short not in agent.sessions
        # A start that arrives after its expiry opens nothing.
        late = uuid.uuid4().hex
        await asyncio.to_thread(_publish, serial, _start(late, -1))
        seen = orjson.loads((await asyncio.to_thread(up.next, None, 10)).payload)
        assert (seen["session"], seen["reason"]) == (late, "expired")
        # Three at once at most; a redelivered start is no second session.
        sessions = [uuid.uuid4().hex for _ in range(4)]
        starts = [_start(s, 60) for s in sessions]
        await asyncio.to_thread(_publish, serial, starts[0], starts[0], *starts[1:])
        seen = orjson.loads((await asyncio.to_thread(up.next, None, 10)).payload)
        assert (seen["session"], seen["reason"]) == (sessions[3], "busy")
        assert set(agent.sessions) == set(sessions[:3])
        stops = [
            orjson.dumps({"v": 1, "type": "stop", "session": s, "reason": "hangup"})
            for s in sessions[:3]
        ]
        await asyncio.to_thread(_publish, serial, *stops)
        await _until(lambda: not agent.sessions)
        assert await asyncio.to_thread(up.quiet, 0.5) == []  # a stop needs no answer
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert not agent.sessions
