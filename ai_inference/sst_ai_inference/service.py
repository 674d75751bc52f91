"""The inference loop: urgent readings stream -> hard rules -> alerts.

Runs in the consumer group INFERENCE_GROUP, so several processes share the stream and a
restarted one resumes its pending entries (sst_core.streams). Handling is idempotent
(see alerts.py), which is what makes redelivery safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.alerts import raise_alert
from sst_ai_inference.clock import WINDOWED_PART, DrivenClock
from sst_ai_inference.detector import Detector
from sst_ai_inference.device_alerts import DeviceAlerts
from sst_ai_inference.directory import Directory
from sst_ai_inference.routine import RoutineScorer
from sst_ai_inference.rules import HARD_RULES, HardRule, ReadingContext, evaluate, interesting
from sst_ai_inference.settings import InferenceSettings
from sst_core.const import DEVICE_EVENTS_STREAM, INFERENCE_GROUP, URGENT_STREAM
from sst_core.device_messages import DeviceEvent
from sst_core.messages import StoredReading, decode_readings_entry
from sst_core.streams import Entry, consume

log = logging.getLogger("sst.inference")

MAX_RETRY_DELAY_S = 10.0


class _Stopping(Exception):
    """Raised out of a handler to leave its batch unacknowledged when asked to stop."""


def _transient(exc: BaseException) -> bool:
    """Errors of an unavailable PostgreSQL or Redis: wait and retry, never skip the reading."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc, OSError | OperationalError | InterfaceError | RedisConnectionError | RedisTimeoutError
    )


class InferenceService:
    """Consumes readings, applies the rules and raises alerts."""

    def __init__(
        self,
        *,
        settings: InferenceSettings,
        engine: AsyncEngine,
        redis: Redis,
        directory: Directory | None = None,
        rules: tuple[HardRule, ...] = HARD_RULES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis
        self.directory = directory or Directory(engine, refresh_s=settings.directory_refresh_s)
        self.rules = rules
        self.devices = DeviceAlerts(engine=engine, redis=redis, directory=self.directory)
        self.detector = Detector(
            engine=engine,
            redis=redis,
            directory=self.directory,
            every=timedelta(seconds=settings.windowed_every_s),
            max_catch_up=timedelta(hours=settings.windowed_catch_up_h),
        )
        self.clock = clock or (lambda: datetime.now(UTC))
        # A replay's clock (bench and tests only: settings.clock_key, clock.py).
        self.driven = (
            DrivenClock(redis, settings.clock_key, settings.clock_block_s)
            if settings.clock_key
            else None
        )
        # -- routine models (routine.py): load, hot-reload, score on the clock --
        self.routine = RoutineScorer(
            settings=settings,
            engine=engine,
            redis=redis,
            directory=self.directory,
            driven=self.driven,
        )
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume the readings and device-events streams until `stop` is set."""
        self._stop = stop
        log.info("inference consuming %s as %s", URGENT_STREAM, self.settings.consumer_name)
        # The instant rules read the urgent stream only (the gateway puts every reading of a
        # fall detector, emergency button or smoke sensor there first): a fall never waits
        # behind telemetry. The windowed rules read PostgreSQL on their clock.
        tasks = [
            self._consume(URGENT_STREAM, self.handle, stop),
            self._consume(DEVICE_EVENTS_STREAM, self.handle_device_events, stop),
            self.routine.run(stop),  # routine models
        ]
        if self.settings.windowed_enabled:
            tasks.append(self._windowed(stop) if self.driven is None else self._driven(stop))
        await asyncio.gather(*tasks)

    async def _driven(self, stop: asyncio.Event) -> None:
        """Judge the windowed rules at each time a replay appends (clock.py), then say so."""
        assert self.driven is not None
        after = b"0"
        while not stop.is_set():
            try:
                times = await self.driven.read(after)
                if not times:
                    continue
                entry, now = times[-1]  # the rules catch up over the span (instants)
                await self.detector.tick(now)
                await self.driven.done(WINDOWED_PART, now)
                after = entry
            except Exception:
                log.exception("windowed rules failed at the driven time; trying again")
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.driven.block_s)

    async def _windowed(self, stop: asyncio.Event) -> None:
        """Judge the windowed rules of due residents on the clock until `stop`."""
        # Wake often enough to take residents due at different times within one period.
        pause = min(self.settings.windowed_every_s / 4, 5.0)
        while not stop.is_set():
            try:
                await self.detector.tick(self.clock())
            except Exception as exc:
                if not _transient(exc):
                    log.exception("windowed rules failed; trying again next period")
                else:
                    log.warning("storage unavailable for the windowed rules (%r)", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def _consume(
        self, stream: str, handler: Callable[[list[Entry]], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        try:
            await consume(
                self.redis,
                stream=stream,
                group=INFERENCE_GROUP,
                consumer=self.settings.consumer_name,
                handler=handler,
                stop=stop,
                count=self.settings.batch_size,
                block_ms=self.settings.block_ms,
                claim_idle_ms=self.settings.claim_idle_ms,
            )
        except _Stopping:
            log.info("stopped with a %s batch unacknowledged; it will be redelivered", stream)

    async def handle_device_events(self, entries: list[Entry]) -> None:
        """Turn device events (hub presence, battery crossings) into device alerts."""
        for entry_id, fields in entries:
            try:
                event = DeviceEvent.from_stream(fields)
            except Exception as exc:  # a malformed entry must not stop the stream
                log.error("skipping undecodable device event %r: %r", entry_id, exc)
                continue
            await self._with_retry(
                partial(self.devices.process, event), f"{event.kind} of hub {event.hub_serial}"
            )

    async def handle(self, entries: list[Entry]) -> None:
        """Apply the rules to every reading of a batch of stream entries."""
        for entry_id, fields in entries:
            try:
                hub, readings = decode_readings_entry(fields)
            except Exception as exc:  # a malformed entry must not stop the stream
                log.error("skipping undecodable readings entry %r: %r", entry_id, exc)
                continue
            for reading in readings:
                if interesting(reading, self.rules):
                    await self._process_with_retry(hub, reading)

    async def _process_with_retry(self, hub: str, reading: StoredReading) -> None:
        await self._with_retry(
            partial(self.process, hub, reading), f"reading {reading} from hub {hub}"
        )

    async def _with_retry(self, step: Callable[[], Awaitable[None]], what: str) -> None:
        delay = 0.5
        while True:
            try:
                await step()
                return
            except Exception as exc:
                if not _transient(exc):
                    log.exception("skipping %s", what)
                    return
                if self._stop.is_set():
                    raise _Stopping from exc
                log.warning("storage unavailable (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)

    async def process(self, hub: str, reading: StoredReading) -> None:
        """Look up one reading's context, apply the rules and raise what they draft."""
        if reading.resident_id is None:
            log.warning(
                "%s reading from sensor %s has no resident; no alert possible",
                reading.kind,
                reading.sensor_id,
                extra={"hub": hub},
            )
            return
        place = await self.directory.sensor(reading.sensor_id)
        resident = await self.directory.resident(reading.resident_id)
        if resident is None:
            log.warning(
                "reading for unknown resident %s skipped", reading.resident_id, extra={"hub": hub}
            )
            return
        context = ReadingContext(
            reading=reading,
            resident_id=reading.resident_id,
            resident_name=resident.full_name,
            timezone=resident.timezone,
            room_name=place.room_name if place else None,
            room_kind=place.room_kind if place else None,
        )
        for draft in evaluate(context, self.rules):
            message = await raise_alert(
                engine=self.engine, redis=self.redis, draft=draft, facility_id=resident.facility_id
            )
            if message is not None:
                log.info(
                    "alert %s %s for resident %s (count %s)",
                    message.id,
                    message.kind,
                    message.resident_id,
                    message.count,
                    extra={"hub": hub, "resident_id": message.resident_id},
                )
