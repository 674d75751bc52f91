"""The reference hub on the real Mosquitto: exact payloads, presence and the last will."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import Any

import orjson
import pytest

from sst_core.const import hub_topic
from sst_core.messages import EventIn, StatusIn, TelemetryIn
from sst_devices.hub_agent import HubAgent
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.devices.conftest import Listener

READINGS = [(f"sensor-{i % 7}", 1_714_626_000_000 + i * 1000, float(i % 3)) for i in range(2500)]


def agent_for(serial: str, **options: Any) -> HubAgent:
    return HubAgent(
        serial,
        host=MQTT_HOST,
        port=MQTT_PORT,
        username=MQTT_USERNAME,
        password=MQTT_PASSWORD,
        firmware="test-fw-1",
        **options,
    )


def test_status_telemetry_and_events_are_exactly_the_contract(
    listen: type[Listener], hub_serial: str
) -> None:
    agent = agent_for(hub_serial)
    agent.connect()
    try:
        # Subscribing after the connect: the online status must be waiting, retained.
        listener = listen(f"sst/v1/hubs/{hub_serial}/#")
        status = listener.next(hub_topic(hub_serial, "status"))
        assert status.retain
        online = StatusIn.model_validate_json(status.payload)
        assert online.online is True and online.firmware == "test-fw-1" and online.v == 1

        assert agent.publish_readings(READINGS) == 3
        agent.publish_event("fall-1", 1_714_626_123_456)
        agent.flush()

        batches = [listener.next(hub_topic(hub_serial, "telemetry")) for _ in range(3)]
        parsed = [TelemetryIn.model_validate_json(b.payload) for b in batches]
        assert [len(p.readings) for p in parsed] == [1000, 1000, 500]
        sent = [(r.sensor, r.ts, r.value) for p in parsed for r in p.readings]
        assert sent == READINGS
        assert orjson.loads(batches[0].payload)["readings"][1] == {
            "sensor": "sensor-1",
            "ts": 1_714_626_001_000,
            "value": 1.0,
        }

        event = listener.next(hub_topic(hub_serial, "events"))
        assert orjson.loads(event.payload) == {
            "v": 1,
            "sensor": "fall-1",
            "ts": 1_714_626_123_456,
            "value": 1.0,
        }
        EventIn.model_validate_json(event.payload)
    finally:
        agent.disconnect()

    offline = listener.next(hub_topic(hub_serial, "status"))
    assert StatusIn.model_validate_json(offline.payload).online is False
    # ...and it is what a dashboard connecting later learns.
    late = listen(hub_topic(hub_serial, "status")).next()
    assert late.retain and StatusIn.model_validate_json(late.payload).online is False


def test_nothing_is_lost_when_flush_returns(listen: type[Listener], hub_serial: str) -> None:
    listener = listen(hub_topic(hub_serial, "telemetry"))
    agent = agent_for(hub_serial)
    agent.connect()
    for i in range(50):
        agent.publish_readings([("kitchen-motion", 1_714_626_000_000 + i, 1.0)])
    agent.flush(timeout=10)
    agent.disconnect()
    received = [TelemetryIn.model_validate_json(s.payload) for s in listener.quiet(1.0)]
    assert sorted(t.readings[0].ts for t in received) == [1_714_626_000_000 + i for i in range(50)]


_ABRUPT_HUB = textwrap.dedent(
    """
    import sys, time
    from sst_devices.hub_agent import HubAgent
    agent = HubAgent(
        sys.argv[1], host=sys.argv[2], port=int(sys.argv[3]), keepalive=5,
        username=sys.argv[4], password=sys.argv[5],
    )
    agent.connect()
    agent.flush()
    print("connected", flush=True)
    time.sleep(60)
    """
)


def test_last_will_says_offline_when_the_hub_vanishes(
    listen: type[Listener], hub_serial: str
) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            _ABRUPT_HUB,
            hub_serial,
            MQTT_HOST,
            str(MQTT_PORT),
            MQTT_USERNAME,
            MQTT_PASSWORD,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as hub:
        try:
            assert hub.stdout is not None
            assert hub.stdout.readline().strip() == "connected"
            listener = listen(hub_topic(hub_serial, "status"))
            assert StatusIn.model_validate_json(listener.next().payload).online is True
            hub.send_signal(signal.SIGKILL)  # no DISCONNECT: a power cut
            hub.wait(10)
            will = listener.next(timeout=20)
        finally:
            if hub.poll() is None:
                hub.kill()
    assert orjson.loads(will.payload) == {"v": 1, "online": False}
    late = listen(hub_topic(hub_serial, "status")).next()
    assert late.retain and orjson.loads(late.payload) == {"v": 1, "online": False}


def test_an_event_only_connection_leaves_presence_alone(
    listen: type[Listener], hub_serial: str
) -> None:
    listener = listen(f"sst/v1/hubs/{hub_serial}/#")
    agent = agent_for(hub_serial, client_id=f"{hub_serial}-side", presence=False)
    agent.connect()
    agent.publish_event("button-1", 1_714_626_000_000)
    agent.disconnect()
    seen = listener.quiet(1.0)
    assert [s.topic for s in seen] == [hub_topic(hub_serial, "events")]


def test_unreachable_broker_is_a_clear_error() -> None:
    agent = HubAgent("test-devhub-nowhere", host="127.0.0.1", port=1)
    with pytest.raises(OSError):
        agent.connect(timeout=2)


def test_heartbeat_repeats_the_status_with_battery_levels(
    listen: type[Listener], hub_serial: str
) -> None:
    agent = agent_for(hub_serial, heartbeat_s=0.2)
    agent.batteries = {"front-door": 87.0, "bathroom-motion": 18.5}
    listener = listen(hub_topic(hub_serial, "status"))
    agent.connect()
    try:
        beats = [StatusIn.model_validate_json(listener.next().payload) for _ in range(3)]
    finally:
        agent.disconnect()
    assert all(b.online and b.firmware == "test-fw-1" for b in beats)
    assert all(b.batteries == {"front-door": 87.0, "bathroom-motion": 18.5} for b in beats)
    stamps = [b.ts or 0 for b in beats]
    assert stamps == sorted(stamps) and stamps[2] - stamps[0] >= 300
    # After the goodbye, no more heartbeats: the retained status stays offline.
    listener.quiet(0.5)
    late = listen(hub_topic(hub_serial, "status")).next()
    assert StatusIn.model_validate_json(late.payload).online is False
