"""An MQTT listener on the real Mosquitto, to see exactly what a hub sends."""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from sst_core.const import robot_topic
from sst_devices.robot_agent import RobotAgent
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME


@dataclass(frozen=True)
class Seen:
    """One message as a subscriber received it."""

    topic: str
    payload: bytes
    retain: bool


class Listener:
    """A paho subscriber collecting every message under a topic filter."""

    def __init__(self, topic_filter: str) -> None:
        self.messages: queue.Queue[Seen] = queue.Queue()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-listener-{uuid.uuid4().hex[:10]}"
        )
        self._client.on_message = lambda c, u, m: self.messages.put(
            Seen(m.topic, bytes(m.payload), bool(m.retain))
        )
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.username_pw_set(MQTT_USERNAME, MQTT_PASSWORD)
        self._client.connect(MQTT_HOST, MQTT_PORT)
        self._client.loop_start()
        self._client.subscribe(topic_filter, qos=1)
        assert self._subscribed.wait(10), "no SUBACK from the broker"

    def next(self, topic: str | None = None, timeout: float = 10.0) -> Seen:
        """The next message (on `topic`, skipping others); fails after `timeout`."""
        while True:
            try:
                seen = self.messages.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no message on {topic or 'any topic'} in {timeout}s"
                ) from None
            if topic is None or seen.topic == topic:
                return seen

    def quiet(self, seconds: float = 0.5) -> list[Seen]:
        """Every message that arrives until none has for `seconds`."""
        out: list[Seen] = []
        while True:
            try:
                out.append(self.messages.get(timeout=seconds))
            except queue.Empty:
                return out

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def listen() -> Iterator[type[Listener]]:
    """Make listeners; all are closed after the test."""
    made: list[Listener] = []

    class Tracked(Listener):
        def __init__(self, topic_filter: str) -> None:
            super().__init__(topic_filter)
            made.append(self)

    yield Tracked
    for listener in made:
        listener.close()


def clear_retained(topic: str) -> None:
    """Remove a retained message a test left on the shared broker."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-clear-{uuid.uuid4().hex}"
    )
    client.username_pw_set(MQTT_USERNAME, MQTT_PASSWORD)
    client.connect(MQTT_HOST, MQTT_PORT)
    client.loop_start()
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


@contextmanager
def starting_robots(**defaults: Any) -> Iterator[Callable[..., Awaitable[RobotAgent]]]:
    """Start reference robots on the test broker (options: `defaults`, then the call's);
    when the block ends all are disconnected and their retained status cleared."""
    made: list[RobotAgent] = []

    async def start(serial: str, **options: Any) -> RobotAgent:
        agent = RobotAgent(
            serial,
            host=MQTT_HOST,
            port=MQTT_PORT,
            username=MQTT_USERNAME,
            password=MQTT_PASSWORD,
            client_id=f"{serial}-{uuid.uuid4().hex[:6]}",
            **{**defaults, **options},
        )
        await asyncio.to_thread(agent.connect)
        made.append(agent)
        return agent

    try:
        yield start
    finally:
        for agent in made:
            agent.disconnect()
            clear_retained(robot_topic(agent.serial, "status"))


@pytest.fixture
def hub_serial() -> Iterator[str]:
    """A hub serial no other test (or engineer) uses; its retained status is cleared after."""
    serial = f"test-devhub-{uuid.uuid4().hex[:10]}"
    yield serial
    clear_retained(f"sst/v1/hubs/{serial}/status")
