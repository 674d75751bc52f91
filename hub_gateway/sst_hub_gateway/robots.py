"""The robot relay: commands from the backend down to robots, their answers back up.

The backend stores a command (robots_commands, state queued) and adds its id to the
robot-commands stream. The relay, in a consumer group, publishes it with QoS 1 on
`sst/v1/robots/{serial}/commands` when the robot is online, and counts the attempt once
the broker has it; an offline robot's command waits and goes out when the robot's status
says online again, or expires. Acks, progress and status from robots move the lifecycle
forward (robot_store.py); each change is committed, then announced on the robot-events
stream, then the robot's MQTT message is acknowledged. A sweep expires overdue commands,
resends unacknowledged ones and marks silent robots offline; PostgreSQL being the truth,
the sweep also sends whatever the stream lost.

The relay has its own MQTT session (client id `<gateway id>-robots`), so a burst of
telemetry never delays a robot's answer and the readings path stays as it is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import asyncpg
import orjson
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sst_core.const import (
    ROBOT_ACKS,
    ROBOT_COMMANDS,
    ROBOT_COMMANDS_STREAM,
    ROBOT_EVENTS_STREAM,
    ROBOT_PROGRESS,
    ROBOT_RELAY_GROUP,
    ROBOT_STATUS,
    ROBOT_TOPIC_PREFIX,
    robot_subscriptions,
    robot_topic,
)
from sst_core.domain import RobotCommandState
from sst_core.messages import datetime_to_ms, ms_to_datetime
from sst_core.robot_details import DETAIL_MAX, invalid_command, progress_text
from sst_core.robot_messages import (
    OFFLINE,
    RobotAckIn,
    RobotCommandEvent,
    RobotProgressIn,
    RobotStatusEvent,
    RobotStatusIn,
    command_payload,
    decode_command_entry,
    encode_robot_event,
)
from sst_core.streams import Entry, consume
from sst_core.texts import Text, english
from sst_hub_gateway import robot_store
from sst_hub_gateway.db_errors import CONNECTION_ERRORS
from sst_hub_gateway.inbox import Inbox
from sst_hub_gateway.metrics import GatewayMetrics
from sst_hub_gateway.mqtt import InboundMessage, MqttBridge
from sst_hub_gateway.parsing import Rejection, excerpt
from sst_hub_gateway.settings import GatewaySettings

log = logging.getLogger("sst.gateway.robots")

_SERIAL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PREFIX_PARTS = ROBOT_TOPIC_PREFIX.split("/")
_MODELS: dict[str, type[BaseModel]] = {
    ROBOT_ACKS: RobotAckIn,
    ROBOT_PROGRESS: RobotProgressIn,
    ROBOT_STATUS: RobotStatusIn,
}
_DEAD_LETTER = """
INSERT INTO dead_letters (received_at, hub_serial, topic, reason, excerpt)
VALUES ($1, $2, $3, $4, $5)
"""
RobotEvent = RobotCommandEvent | RobotStatusEvent
_T = TypeVar("_T")


class _Stopping(Exception):
    """Shutdown came while storage was failing; the work stays for the next start."""


def parse_robot_topic(topic: str) -> tuple[str, str] | Rejection:
    """`sst/v1/robots/{serial}/{kind}` as (robot serial, kind) for what robots send."""
    parts = topic.split("/")
    if len(parts) != len(_PREFIX_PARTS) + 2 or parts[: len(_PREFIX_PARTS)] != _PREFIX_PARTS:
        return Rejection("bad_topic", f"topic is not {ROBOT_TOPIC_PREFIX}/<serial>/<kind>")
    serial, kind = parts[-2], parts[-1]
    if not _SERIAL.match(serial):
        return Rejection("bad_topic", "robot serial in topic is not 1-64 of [A-Za-z0-9_.:-]")
    if kind not in _MODELS:
        return Rejection("bad_topic", f"unknown robot message kind {kind!r} in topic")
    return serial, kind


def parse_robot_payload(kind: str, payload: bytes, *, max_bytes: int) -> BaseModel | Rejection:
    """Validate a robot's payload against the model of its topic kind."""
    if len(payload) > max_bytes:
        return Rejection("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    try:
        return _MODELS[kind].model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if first["type"] == "json_invalid":
            return Rejection("malformed_json", f"malformed JSON: {first['msg']}")
        where = ".".join(str(p) for p in first["loc"]) or "message"
        return Rejection("schema", f"schema: {where}: {first['msg']}")


def _text(value: str) -> str:
    """Text PostgreSQL accepts: a device's NUL bytes would make it refuse the dead letter."""
    return value.replace("\x00", "\ufffd")


class RobotRelay:
    """Commands down, answers up; run by the gateway beside the readings path."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.subscribed = asyncio.Event()
        self._inbox: Inbox[InboundMessage] | None = None
        self._send_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._bridge: MqttBridge | None = None
        self._pool: asyncpg.Pool | None = None
        self._redis: Redis | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set."""
        s = self.settings
        self._stop = stop
        self._pool = await asyncpg.create_pool(s.asyncpg_dsn, min_size=0, max_size=2)
        self._redis = Redis.from_url(s.redis_url)
        loop = asyncio.get_running_loop()
        self._inbox = Inbox(loop, s.queue_max_messages)
        bridge = MqttBridge(
            s,
            loop,
            self._inbox,
            client_id=f"{s.mqtt_client_id}-robots",
            topic_filters=robot_subscriptions(s.mqtt_share_group),
        )
        self._bridge = bridge
        bridge.start()
        tasks = [
            asyncio.create_task(self._signal_subscribed(bridge)),
            asyncio.create_task(self._inbound(stop)),
            asyncio.create_task(self._commands(stop)),
            asyncio.create_task(self._sweep(stop)),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception) and not isinstance(result, _Stopping):
                    log.error("robot relay task failed: %r", result)
            await asyncio.to_thread(bridge.stop)
            await self._redis.aclose()
            await self._pool.close()

    async def _signal_subscribed(self, bridge: MqttBridge) -> None:
        await bridge.subscribed.wait()
        self.subscribed.set()

    # -- robots -> SST ----------------------------------------------------------------

    async def _inbound(self, stop: asyncio.Event) -> None:
        assert self._bridge is not None and self._inbox is not None
        while not stop.is_set():
            if not await self._inbox.wait(0.5):
                continue
            inbound = self._inbox.get_nowait()
            try:
                await self._retrying(partial(self._receive, inbound))
            except _Stopping:
                return  # unacknowledged: the broker delivers it again
            except asyncpg.PostgresError as exc:  # content PostgreSQL refuses: never retried
                await self._retrying(
                    partial(
                        self._dead_letter,
                        inbound,
                        None,
                        Rejection("db_refused", f"database refused: {exc}"),
                    )
                )
            except Exception:  # a device must never stop the relay
                log.exception("robot message on %s not handled; dropping it", inbound.topic)
            self._bridge.ack(inbound)

    async def _receive(self, inbound: InboundMessage) -> None:
        """Store what one robot message says, announce it, send what its return unblocks."""
        assert self._pool is not None
        topic = parse_robot_topic(inbound.topic)
        serial = topic[0] if isinstance(topic, tuple) else None
        if isinstance(topic, Rejection):
            await self._dead_letter(inbound, serial, topic)
            return
        if topic[1] == ROBOT_STATUS and not inbound.payload:
            return  # a retained status being deleted (MQTT's empty message), not a report
        body = parse_robot_payload(
            topic[1], inbound.payload, max_bytes=self.settings.max_payload_bytes
        )
        if isinstance(body, Rejection):
            await self._dead_letter(inbound, serial, body)
            return
        serial = topic[0]
        events: list[RobotEvent] = []
        came_online: int | None = None
        # Under the send lock: an ack racing the PUBACK of its own command's publish is
        # applied after that command was marked sent, so the lifecycle reads in order.
        async with self._send_lock, self._pool.acquire() as conn, conn.transaction():
            if isinstance(body, RobotStatusIn):
                outcome = await self._status(conn, serial, body, inbound)
                if isinstance(outcome, Rejection):
                    await self._dead_letter(inbound, serial, outcome, conn)
                elif outcome is not None:
                    event, online, robot_id = outcome
                    events += [event] if event else []
                    came_online = robot_id if online else None
            else:
                assert isinstance(body, RobotAckIn | RobotProgressIn)
                state = (
                    RobotCommandState.ACKNOWLEDGED
                    if isinstance(body, RobotAckIn)
                    else RobotCommandState(body.state.value)
                )
                detail, text = self._detail(serial, body)
                change = await robot_store.report(
                    conn,
                    robot_serial=serial,
                    command_id=body.id,
                    state=state,
                    detail=detail,
                    text=text,
                )
                if isinstance(change, Rejection):
                    await self._dead_letter(inbound, serial, change, conn)
                elif change is not None:
                    events.append(change)
        await self._announce(events)
        if came_online is not None:
            log.info("robot %s is online; sending what waited for it", serial)
            await self._send_due(robot_id=came_online)

    @staticmethod
    def _detail(serial: str, body: RobotAckIn | RobotProgressIn) -> tuple[str | None, Text | None]:
        """A report's words and their text; a text SST cannot render is dropped, words kept."""
        if not isinstance(body, RobotProgressIn):
            return None, None
        text = progress_text(body.text.as_text()) if body.text is not None else None
        if body.text is not None and text is None:
            log.warning(
                "robot %s: progress text %r of command %s is not one SST can show; "
                "keeping its words only",
                serial,
                body.text.key,
                body.id,
            )
        if body.detail is None and text is not None:
            return english(text)[:DETAIL_MAX], text
        return body.detail, text

    async def _status(
        self, conn: asyncpg.Connection, serial: str, body: RobotStatusIn, inbound: InboundMessage
    ) -> tuple[RobotStatusEvent | None, bool, int] | Rejection | None:
        received = datetime.fromtimestamp(inbound.received_at, tz=UTC)
        seen = min(received, ms_to_datetime(body.ts)) if body.ts is not None else received
        stale = (received - seen).total_seconds() > self.settings.robot_status_timeout_s
        if body.online and stale:
            return None  # an old retained status is no sign of life
        state = (body.state.value if body.state else "idle") if body.online else OFFLINE
        result = await robot_store.update_status(
            conn,
            serial=serial,
            state=state,
            position=body.position,
            battery=body.battery,
            seen_at=seen,
        )
        if result is None:
            return Rejection("unknown_robot", f"unknown robot {serial!r}")
        return result

    async def _dead_letter(
        self,
        inbound: InboundMessage,
        serial: str | None,
        rejection: Rejection,
        conn: asyncpg.Connection | None = None,
    ) -> None:
        args = (
            datetime.fromtimestamp(inbound.received_at, tz=UTC),
            serial,
            _text(inbound.topic),
            _text(rejection.reason),
            _text(excerpt(inbound.payload)),
        )
        if conn is not None:
            await conn.execute(_DEAD_LETTER, *args)
        else:
            assert self._pool is not None
            async with self._pool.acquire() as own:
                await own.execute(_DEAD_LETTER, *args)
        self.metrics.dead_letters[f"robot_{rejection.code}"] += 1
        log.warning("dead-lettered a robot message: %s (topic %s)", rejection.reason, inbound.topic)

    # -- SST -> robots ----------------------------------------------------------------

    async def _commands(self, stop: asyncio.Event) -> None:
        """Consume the robot-commands stream (one consumer group for all gateways)."""
        assert self._redis is not None

        async def handle(entries: list[Entry]) -> None:
            for entry_id, fields in entries:
                try:
                    command_id = decode_command_entry(fields)
                except (KeyError, ValueError) as exc:
                    log.error("skipping undecodable robot-commands entry %r: %r", entry_id, exc)
                    continue
                try:
                    await self._retrying(partial(self._dispatch, command_id))
                except _Stopping:
                    raise
                except Exception:  # the row stays queued: the sweep sends it
                    log.exception("robot command %s not dispatched; the sweep retries", command_id)

        while not stop.is_set():
            try:
                await consume(
                    self._redis,
                    stream=ROBOT_COMMANDS_STREAM,
                    group=ROBOT_RELAY_GROUP,
                    consumer=self.settings.mqtt_client_id,
                    handler=handle,
                    stop=stop,
                    count=50,
                    block_ms=200,
                )
            except _Stopping:
                log.info("stopping with robot commands unacknowledged on the stream")
                return
            except (RedisError, OSError) as exc:  # e.g. a read timeout: consume again
                log.warning("robot-commands stream: %r; reading again in 1 s", exc)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    async def _dispatch(self, command_id: int) -> None:
        """Send a newly queued command if its robot is online; otherwise it waits."""
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            row = await robot_store.load_command(conn, command_id)
        if row is None:
            log.error("robot-commands stream names command %s, which does not exist", command_id)
            return
        if row["state"] != RobotCommandState.QUEUED:
            return  # already sent (by the sweep or another gateway), or finished
        if row["robot_state"] in (None, OFFLINE):
            log.info("robot %s is offline; command %s waits for it", row["serial"], command_id)
            return
        await self._send(row)

    async def _send_due(self, robot_id: int | None = None) -> None:
        assert self._pool is not None
        s = self.settings
        async with self._pool.acquire() as conn:
            rows = await robot_store.due_commands(
                conn,
                max_attempts=s.robot_max_attempts,
                ack_timeout_s=s.robot_ack_timeout_s,
                robot_id=robot_id,
            )
        for row in rows:
            await self._send(row)

    async def _send(self, row: asyncpg.Record) -> None:
        """Publish one command (QoS 1) and count the attempt once the broker has it."""
        assert self._pool is not None and self._bridge is not None
        serial, command_id = row["serial"], row["id"]
        async with self._send_lock:
            # The stream and the sweep may both have picked this command: only the first
            # to get here sends it, the other sees it moved on since it looked.
            async with self._pool.acquire() as conn:
                now = await robot_store.load_command(conn, command_id)
            if now is None or (now["state"], now["attempts"]) != (row["state"], row["attempts"]):
                return
            try:
                args = orjson.loads(row["args"]) if row["args"] else {}  # jsonb comes as text
                payload = command_payload(
                    command_id, row["command"], args, datetime_to_ms(row["expires_at"])
                )
            except (ValidationError, TypeError, ValueError) as exc:  # never send a bad row
                async with self._pool.acquire() as conn, conn.transaction():
                    event = await robot_store.mark_failed(
                        conn, command_id, serial, english(invalid_command(str(exc)))[:500]
                    )
                await self._announce([event])
                return
            if not await self._bridge.publish(robot_topic(serial, ROBOT_COMMANDS), payload):
                return  # no connection to the broker: the sweep tries again
            async with self._pool.acquire() as conn, conn.transaction():
                sent = await robot_store.mark_sent(conn, command_id, serial)
            await self._announce([sent] if sent else [])

    # -- upkeep -------------------------------------------------------------------------

    async def _sweep(self, stop: asyncio.Event) -> None:
        assert self._pool is not None
        s = self.settings
        while not stop.is_set():
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    expired = await robot_store.expire_due(conn)
                    silent = await robot_store.silent_robots(conn, s.robot_status_timeout_s)
                await self._announce([*expired, *silent])
                await self._send_due()
            except _Stopping:
                return
            except (asyncpg.PostgresError, *CONNECTION_ERRORS, RedisError) as exc:
                log.warning("robot sweep failed (%s); next try in an interval", exc)
            except Exception:  # upkeep must outlive any one bad row
                log.exception("robot sweep failed; next try in an interval")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), s.robot_sweep_interval_s)

    async def _announce(self, events: list[RobotEvent]) -> None:
        """Put committed changes on the robot-events stream (retrying while Redis is down)."""
        if not events:
            return
        assert self._redis is not None

        async def add() -> None:
            assert self._redis is not None
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.xadd(
                        ROBOT_EVENTS_STREAM,
                        encode_robot_event(event),
                        maxlen=self.settings.stream_maxlen,
                        approximate=True,
                    )
                await pipe.execute()

        await self._retrying(add)

    async def _retrying(self, step: Callable[[], Awaitable[_T]]) -> _T:
        """Run `step` until PostgreSQL and Redis let it through, or until shutdown."""
        delay = 0.2
        while True:
            try:
                return await step()
            except (asyncpg.PostgresConnectionError, *CONNECTION_ERRORS) as exc:
                what = f"PostgreSQL ({exc})"
            except RedisError as exc:
                what = f"Redis ({exc})"
            if self._stop.is_set():
                raise _Stopping
            log.warning("robot relay: %s unavailable; retrying in %.1f s", what, delay)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.settings.retry_max_delay_s)
