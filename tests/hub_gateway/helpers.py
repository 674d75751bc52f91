"""Helpers for gateway tests: a hub-like MQTT publisher, polling, a cuttable TCP proxy."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sst_core.const import hub_topic
from tests.conftest import MQTT_GATEWAY, MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME


class HubPublisher:
    """Publishes as a hub would: QoS 1, waiting for the broker's PUBACK."""

    def __init__(self) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-hub-{uuid.uuid4().hex[:8]}"
        )
        self._client.username_pw_set(MQTT_USERNAME, MQTT_PASSWORD)
        self._client.connect(MQTT_HOST, MQTT_PORT, 30)
        self._client.loop_start()

    async def publish(self, topic: str, payload: bytes | dict[str, Any], qos: int = 1) -> None:
        """Publish and wait until the broker has it."""
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        info = self._client.publish(topic, body, qos=qos)
        await asyncio.to_thread(info.wait_for_publish, 5)
        assert info.is_published()

    async def publish_many(self, messages: list[tuple[str, bytes]], qos: int = 1) -> None:
        """Publish many messages at once, then wait until the broker has every one."""
        infos = [self._client.publish(topic, body, qos=qos) for topic, body in messages]

        def wait_all() -> None:
            for info in infos:
                info.wait_for_publish(60)

        await asyncio.to_thread(wait_all)
        assert all(info.is_published() for info in infos)

    async def telemetry(self, serial: str, readings: list[dict[str, Any]]) -> None:
        """Publish one telemetry message."""
        await self.publish(hub_topic(serial, "telemetry"), {"v": 1, "readings": readings})

    async def event(self, serial: str, reading: dict[str, Any]) -> None:
        """Publish one events message (one urgent reading)."""
        await self.publish(hub_topic(serial, "events"), {"v": 1, **reading})

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll `check` until it is true, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


def wipe_mqtt_session(client_id: str) -> None:
    """Drop a persistent broker session a test gateway left behind."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.username_pw_set(MQTT_GATEWAY.username, MQTT_GATEWAY.password)
    client.connect(MQTT_HOST, MQTT_PORT, 30)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


class TcpProxy:
    """A TCP relay to a real server that a test can cut (to play an outage) and restore."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        """Listen (on the same port after a cut)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and break every open connection."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links.discard(writer)
        self._links.discard(up_writer)


@contextlib.asynccontextmanager
async def running(gateway: Any, within: float = 10.0) -> AsyncIterator[asyncio.Event]:
    """Run a gateway in this event loop until the block ends; yields its stop event."""
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    try:
        ready = asyncio.create_task(gateway.ready.wait())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            task.result()
        assert ready in done, "gateway did not subscribe in time"
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await asyncio.to_thread(wipe_mqtt_session, gateway.settings.mqtt_client_id)
