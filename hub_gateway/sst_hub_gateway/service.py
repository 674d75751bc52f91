"""The gateway's run loop: MQTT messages in batches -> PostgreSQL -> readings stream -> ack.

Order per batch: validate, write (one transaction), XADD one stream entry per accepted
message, then acknowledge the MQTT messages. A failure at any step keeps the acks back
and retries the same batch after a back-off; nothing is dropped, and because writes are
idempotent and inference is too, a retry or a broker redelivery is harmless.

Two stages overlap: while one batch is written, streamed and acknowledged (mostly waiting
on PostgreSQL), the next is collected, validated and planned. Writes stay one at a time
and in order, so acknowledgements keep the order of commits, and at most two batches
plus the inbox are in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sst_core.const import EVENTS, READINGS_STREAM, URGENT_STREAM
from sst_core.db.session import make_engine
from sst_core.db.timeseries import run_maintenance
from sst_core.messages import StreamRow, encode_stream_rows
from sst_hub_gateway.batch import (
    BatchPlan,
    BatchPlanner,
    ParsedMessage,
    parse_message,
    refuse_message,
)
from sst_hub_gateway.db_errors import CONNECTION_ERRORS
from sst_hub_gateway.directory import Directory
from sst_hub_gateway.inbox import Inbox
from sst_hub_gateway.metrics import GatewayMetrics
from sst_hub_gateway.mqtt import InboundMessage, MqttBridge
from sst_hub_gateway.parsing import Rejection
from sst_hub_gateway.presence import PresenceRules, stream_device_events, sweep_silent_hubs
from sst_hub_gateway.ratelimit import RATE_LIMITED, Admission, RateLimiter
from sst_hub_gateway.robots import RobotRelay
from sst_hub_gateway.settings import GatewaySettings
from sst_hub_gateway.telemetry_metrics import GatewayTelemetry
from sst_hub_gateway.writer import StagingPolicy, create_pool, write_batch

log = logging.getLogger("sst.gateway")

# SQLSTATE classes a message's content can cause (22 data exception, 23 integrity, e.g.
# "no partition for row"): those messages are dead-lettered one by one instead of retried.
_DATA_CLASSES = ("22", "23")


_T = TypeVar("_T")

# One round trip adds a chunk of stream entries (instead of one command per message).
_XADD_MANY = """
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'hub', ARGV[i], 'r', ARGV[i + 1])
end
return (#ARGV - 1) / 2
"""
_XADD_CHUNK = 1000  # entries per script call: keeps Redis responsive to other clients


def _stream_args(entries: list[tuple[str, list[StreamRow]]]) -> list[bytes | str | int]:
    """Arguments of _XADD_MANY for these entries: hub, rows, hub, rows, ..."""
    args: list[bytes | str | int] = []
    for serial, rows in entries:
        fields = encode_stream_rows(serial, rows)
        args += (fields["hub"], fields["r"])
    return args


class _DataRefused(Exception):
    """PostgreSQL refused the content of a write (not a connection problem)."""


class BatchAbandoned(Exception):
    """Shutdown came while a batch was still failing; its messages stay unacknowledged."""


@dataclass(slots=True)
class _Staged:
    """A batch after the first stage: what the rate limit admitted, and its plan."""

    admission: Admission
    plan: BatchPlan | None  # None: the database refused planning it whole
    started: float  # perf_counter when the batch left the inbox


class _Budget:
    """A token bucket: `rate` takes a second, with a burst of one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at: float | None = None

    def take(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Gateway:
    """One gateway process: owns its MQTT session, database pool and Redis client."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.ready = asyncio.Event()  # subscribed: tests and health checks wait on it
        self._inbox: Inbox[InboundMessage] | None = None
        self._staging = StagingPolicy()
        self.telemetry = GatewayTelemetry(self._inbox_depth)
        self.limiter = RateLimiter.from_settings(settings)
        self._urgent_flushes = _Budget(settings.urgent_flushes_per_s)
        self._bridge: MqttBridge | None = None
        self.directory: Directory | None = None
        self.robots = RobotRelay(settings, self.metrics)
        self.presence_rules = PresenceRules(
            heartbeat_timeout_s=settings.hub_heartbeat_timeout_s,
            battery_low_pct=settings.battery_low_pct,
            battery_clear_pct=settings.battery_clear_pct,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then flush what was received and disconnect."""
        settings = self.settings
        pool = await create_pool(settings.asyncpg_dsn)
        redis = Redis.from_url(settings.redis_url)
        self.directory = Directory(
            pool,
            refresh_s=settings.directory_refresh_s,
            miss_retry_s=settings.directory_miss_retry_s,
        )
        planner = BatchPlanner(settings, self.directory)
        loop = asyncio.get_running_loop()
        self._inbox = Inbox(loop, settings.queue_max_messages)
        bridge = MqttBridge(settings, loop, self._inbox)
        self._bridge = bridge
        helpers = [
            asyncio.create_task(self._signal_ready(bridge)),
            asyncio.create_task(self._maintain_partitions(stop)),
            asyncio.create_task(self._log_metrics(stop)),
            asyncio.create_task(
                sweep_silent_hubs(
                    pool,
                    redis,
                    rules=self.presence_rules,
                    interval_s=settings.presence_sweep_interval_s,
                    maxlen=settings.stream_maxlen,
                    stop=stop,
                )
            ),
        ]
        # Stopped, not cancelled: the relay closes its own MQTT session, pool and client.
        robots_stop = asyncio.Event()
        robots = asyncio.create_task(self.robots.run(robots_stop))
        self.telemetry.serve(settings.metrics_host, settings.metrics_port, self.ready.is_set)
        bridge.start()
        writing: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                batch = await self._collect(stop)
                # An empty batch still writes rate-limit reports that fell due while idle.
                if batch or self.limiter.due(time.monotonic()):
                    staged = await self._prepare(batch, planner, pool, stop)
                    if writing is not None:
                        await writing  # one write at a time, in order
                    writing = asyncio.create_task(
                        self._handle(batch, staged, planner, pool, redis, stop)
                    )
            if writing is not None:
                await writing
            # Flush what already arrived; anything later is redelivered next session.
            while batch := self._collect_nowait():
                staged = await self._prepare(batch, planner, pool, stop)
                await self._handle(batch, staged, planner, pool, redis, stop)
            if self.limiter.pending:
                staged = await self._prepare([], planner, pool, stop, final=True)
                await self._handle([], staged, planner, pool, redis, stop)
        except BatchAbandoned:
            log.warning("stopping with a batch not stored; the broker will deliver it again")
        finally:
            robots_stop.set()
            if writing is not None and not writing.done():
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
            for task in helpers:
                task.cancel()
            await asyncio.gather(robots, *helpers, return_exceptions=True)
            await asyncio.to_thread(bridge.stop)
            await redis.aclose()
            await pool.close()
            await asyncio.to_thread(self.telemetry.close)
            log.info("gateway stopped: %s", self.metrics.summary())

    def _inbox_depth(self) -> int:
        return len(self._inbox) if self._inbox is not None else 0

    # -- batching -----------------------------------------------------------------------

    async def _collect(self, stop: asyncio.Event) -> list[ParsedMessage]:
        """Wait for a first message, then gather more until the size or delay limit."""
        loop = asyncio.get_running_loop()
        inbox = self._inbox
        assert inbox is not None
        settings = self.settings
        batch: list[ParsedMessage] = []
        count = 0
        deadline: float | None = None
        limit = settings.batch_max_readings
        while count < limit:
            if not inbox:
                if deadline is None:
                    if stop.is_set():
                        break
                    timeout = 0.5
                else:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                if not await inbox.wait(timeout):
                    break  # idle: an empty batch lets the run loop do its upkeep
            # Take what is there without awaiting: one wake-up per burst, not per message.
            urgent = False
            while inbox and count < limit:
                parsed = parse_message(inbox.get_nowait(), settings)
                batch.append(parsed)
                count += parsed.reading_count
                if parsed.kind == EVENTS and self._urgent_flushes.take(loop.time()):
                    urgent = True  # a fall does not wait for the batch to fill
                    break
            if urgent:
                self.metrics.urgent_flushes += 1
                break
            if deadline is None:
                deadline = loop.time() + settings.batch_max_delay_ms / 1000
        return batch

    def _collect_nowait(self) -> list[ParsedMessage]:
        inbox = self._inbox
        batch: list[ParsedMessage] = []
        count = 0
        while inbox and count < self.settings.batch_max_readings:
            batch.append(parse_message(inbox.get_nowait(), self.settings))
            count += batch[-1].reading_count
        return batch

    # -- one batch ----------------------------------------------------------------------

    async def _prepare(
        self,
        batch: list[ParsedMessage],
        planner: BatchPlanner,
        pool: asyncpg.Pool,
        stop: asyncio.Event,
        *,
        final: bool = False,
    ) -> _Staged:
        """Rate-limit a batch and plan what passes (look-ups retried while PostgreSQL is down)."""
        started = time.perf_counter()
        admission = self.limiter.apply(batch, time.monotonic(), final=final)
        if not admission.store:
            return _Staged(admission, BatchPlan(), started)
        try:
            plan = await self._retrying(self._plan_only, admission.store, planner, pool, stop)
        except _DataRefused:
            return _Staged(admission, None, started)  # _store plans the messages one by one
        return _Staged(admission, plan, started)

    async def _handle(
        self,
        batch: list[ParsedMessage],
        staged: _Staged,
        planner: BatchPlanner,
        pool: asyncpg.Pool,
        redis: Redis,
        stop: asyncio.Event,
    ) -> None:
        m = self.metrics
        inserted, duplicates = m.inserted, m.duplicates
        admission = staged.admission
        if admission.store:
            plan = await self._store(admission.store, staged.plan, planner, pool, stop)
        else:
            plan = BatchPlan()
        await self._notify(plan, redis, stop)
        assert self._bridge is not None
        # Rate-limited ones too: refused is an answer, not a retry.
        self._bridge.ack_many([parsed.inbound for parsed in batch])
        # The plan counted report rows; the metric counts every refused message.
        plan.refused.pop(RATE_LIMITED, None)
        if admission.refused_messages:
            plan.refused[RATE_LIMITED] = admission.refused_messages
        m.batches += 1
        m.messages += len(batch)
        m.accepted += plan.accepted
        m.statuses += len(plan.write.statuses)
        m.dead_letters.update(plan.refused)
        self.telemetry.observe_batch(
            batch,
            plan.refused,
            accepted=plan.accepted,
            stored=m.inserted - inserted,
            duplicates=m.duplicates - duplicates,
            seconds=time.perf_counter() - staged.started,
        )
        if plan.write.dead_letters:
            _, hub, topic, reason, _ = plan.write.dead_letters[0]
            log.warning(
                "dead-lettered %d message(s) %s; first: %s (hub %s, topic %s)",
                len(plan.write.dead_letters),
                dict(plan.refused),
                reason,
                hub,
                topic,
            )

    async def _store(
        self,
        batch: list[ParsedMessage],
        plan: BatchPlan | None,
        planner: BatchPlanner,
        pool: asyncpg.Pool,
        stop: asyncio.Event,
    ) -> BatchPlan:
        """Write the planned batch, retrying while PostgreSQL is unavailable."""
        try:
            if plan is None:
                raise _DataRefused("the batch could not be planned")
            return await self._retrying(self._write_only, plan, planner, pool, stop)
        except _DataRefused as refused:
            if len(batch) > 1:
                log.warning(
                    "database refused a batch (%s); writing its messages one by one", refused
                )
                merged = BatchPlan()
                for parsed in batch:
                    try:  # already admitted: planned again, not rate-limited again
                        one: BatchPlan | None = await self._retrying(
                            self._plan_only, [parsed], planner, pool, stop
                        )
                    except _DataRefused:
                        one = None
                    plan = await self._store([parsed], one, planner, pool, stop)
                    merged.stream_entries += plan.stream_entries
                    merged.refused.update(plan.refused)
                    merged.accepted += plan.accepted
                    merged.write.statuses += plan.write.statuses
                    merged.write.dead_letters += plan.write.dead_letters
                    merged.write.device_events += plan.write.device_events
                return merged
            plan = BatchPlan()
            refuse_message(plan, batch[0], Rejection("db_refused", f"database refused: {refused}"))
            return await self._retrying(self._write_only, plan, planner, pool, stop)

    async def _retrying(
        self,
        step: Callable[[_T, BatchPlanner, asyncpg.Pool], Awaitable[BatchPlan]],
        work: _T,
        planner: BatchPlanner,
        pool: asyncpg.Pool,
        stop: asyncio.Event,
    ) -> BatchPlan:
        attempt = 0
        while True:
            try:
                return await step(work, planner, pool)
            except asyncpg.PostgresError as exc:
                if (exc.sqlstate or "")[:2] in _DATA_CLASSES:
                    raise _DataRefused(str(exc)) from exc
                attempt = await self._back_off("PostgreSQL", exc, attempt, stop)
            except CONNECTION_ERRORS as exc:
                if isinstance(exc, asyncpg.InternalClientError):
                    # The connection's state is unknown: none of the pool's is reused.
                    await pool.expire_connections()
                attempt = await self._back_off("PostgreSQL", exc, attempt, stop)
            self.metrics.db_retries += 1

    async def _plan_only(
        self, batch: list[ParsedMessage], planner: BatchPlanner, pool: asyncpg.Pool
    ) -> BatchPlan:
        return await planner.plan(batch)

    async def _write_only(
        self, plan: BatchPlan, planner: BatchPlanner, pool: asyncpg.Pool
    ) -> BatchPlan:
        inserted = await write_batch(pool, plan.write, self._staging, self.presence_rules)
        planner.mark_seen(plan.write)
        self.metrics.inserted += inserted
        self.metrics.duplicates += len(plan.write.readings) - inserted
        return plan

    async def _notify(self, plan: BatchPlan, redis: Redis, stop: asyncio.Event) -> None:
        """Add one readings-stream entry per accepted message, retrying while Redis is down."""
        if not plan.stream_entries and not plan.write.device_events:
            return
        # Urgent rows first: inference reads the urgent stream on its own, so a fall never
        # waits behind a backlog of telemetry.
        streams = [
            (URGENT_STREAM, _stream_args(plan.urgent_entries)),
            (READINGS_STREAM, _stream_args(plan.stream_entries)),
        ]
        step = 2 * _XADD_CHUNK
        attempt = 0
        while True:
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for stream, args in streams:
                        for start in range(0, len(args), step):
                            pipe.eval(
                                _XADD_MANY,
                                1,
                                stream,
                                self.settings.stream_maxlen,
                                *args[start : start + step],
                            )
                    await pipe.execute()
                await stream_device_events(
                    redis, plan.write.device_events, self.settings.stream_maxlen
                )
                return
            except (RedisError, OSError) as exc:
                attempt = await self._back_off("Redis", exc, attempt, stop)
                self.metrics.redis_retries += 1

    async def _back_off(
        self, what: str, exc: BaseException, attempt: int, stop: asyncio.Event
    ) -> int:
        if stop.is_set():
            raise BatchAbandoned from exc
        delay = min(self.settings.retry_max_delay_s, 0.2 * 2**attempt)
        log.warning(
            "%s unavailable (%s: %s); retrying in %.1f s", what, type(exc).__name__, exc, delay
        )
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        return attempt + 1

    # -- helpers ------------------------------------------------------------------------

    async def _signal_ready(self, bridge: MqttBridge) -> None:
        await bridge.subscribed.wait()
        await self.robots.subscribed.wait()
        log.info("subscribed to %s", ", ".join(self.settings.topic_filters()))
        self.ready.set()

    async def _maintain_partitions(self, stop: asyncio.Event) -> None:
        """Let pg_partman create upcoming partitions (no-op on TimescaleDB), hourly."""
        engine = make_engine(self.settings.database_url, pool_size=1)
        try:
            while not stop.is_set():
                try:
                    async with engine.begin() as conn:
                        await conn.run_sync(run_maintenance)
                    log.info("partition maintenance done")
                except Exception:  # an upkeep failure must never stop ingestion
                    log.exception("partition maintenance failed; next try in an interval")
                with suppress(TimeoutError):
                    await asyncio.wait_for(
                        stop.wait(), self.settings.partition_maintenance_interval_s
                    )
        finally:
            await engine.dispose()

    async def _log_metrics(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.metrics_log_interval_s)
            log.info("gateway metrics: %s", self.metrics.summary())
