"""`make bench-detect`'s replay: labelled lives through MQTT -> gateway -> PostgreSQL -> inference.

The simulated hubs publish each home's readings over MQTT (QoS 1, the reference hub agent;
fall, button and smoke readings on `events` as a hub sends them, the rest on `telemetry`).
The real `sst-hub-gateway` stores them and feeds the streams; the real `sst-ai-inference`
raises the instant alerts from the urgent stream, and judges the windowed rules and the
routine models at a **driven clock** (ai_inference/sst_ai_inference/clock.py).

Why driven and not an accelerated free-running clock: a replay of two months has to run
thousands of times faster than life, on a machine other jobs share. With a clock that runs by
itself, a stall of the publisher or the gateway lets the clock pass readings not stored yet,
and the rules judge a home that looks silent: the figures would depend on the machine's load.
Driven, the replay moves the clock one step (an hour by default) only when every reading up
to its end is stored (counted in PostgreSQL), through each routine interval in it (one
round each, at the 10-minute marks), and waits until inference says it judged up to the
end; readings of the next step are already on their way meanwhile, as a hub's arrive a
little before the rules look. The windowed rules judge every 5 minutes of the driven clock
within each step (their catch-up), the grid of the direct mode.

The alerts are read back from PostgreSQL: each raise or repeat on an alert's timeline
(a second fall while the first is open is a repeat, one alert as staff see it). When it was
decided, in simulated time: the reading's time for an instant rule and the routine model
(`opened_at`/`reading_at`), the instant the rule judged for a windowed rule (`judged_at` on
the timeline; `opened_at` is when its episode began, e.g. the door opening).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
from detect_scoring import Raised
from detect_stack import CLOCK_KEY, HomeSpec, Platform
from redis.asyncio import Redis

from sst_ai_inference.clock import KEEP, ROUTINE_PART, WINDOWED_PART, to_ms
from sst_core.const import INFERENCE_GROUP, URGENT_STREAM
from sst_core.domain import URGENT_SENSOR_KINDS
from sst_devices.profiles import LabelledLife

WAIT_S = 300.0  # longest wait for one step's readings or judgements before giving up

_RAISES = """
SELECT a.resident_id, a.kind, e.action, e.details FROM alert_events e
JOIN alerts a ON a.id = e.alert_id
WHERE e.action IN ('raised', 'repeated') ORDER BY e.id
"""
_STORED = "SELECT count(*) FROM readings WHERE time > $1 AND time <= $2"


@dataclass
class ReplayHome:
    """One simulated home: its spec, the sensor kinds by key, its labelled life."""

    spec: HomeSpec
    kinds: dict[str, str]
    life: LabelledLife
    history: LabelledLife | None = None
    resident_id: int = 0


@dataclass
class Feed:
    """Every home's readings in time order, published over MQTT up to a time on demand."""

    platform: Platform
    homes: list[ReplayHome]
    rows: list[tuple[int, str, str, float]] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)  # one per distinct (hub, sensor, time)
    sent: int = 0
    published: int = 0

    def add(self, serial: str, readings: list[tuple[str, int, float]]) -> None:
        """Queue a home's readings (any order)."""
        self.rows.extend((ts, serial, key, value) for key, ts, value in readings)

    def ready(self) -> None:
        """Sort the queue; count what the readings table will hold (one row per sensor, time)."""
        self.rows.sort()
        unique = {(ts, serial, key) for ts, serial, key, _ in self.rows}
        self.stamps = sorted(ts for ts, _, _ in unique)

    def expected(self, after_ms: int, upto_ms: int) -> int:
        """Rows the readings table must hold with a time in (after, upto]."""
        return bisect.bisect_right(self.stamps, upto_ms) - bisect.bisect_right(
            self.stamps, after_ms
        )

    def publish_until(self, upto_ms: int) -> None:
        """Publish every queued reading timed at or before `upto_ms`, as each home's hub."""
        batch: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
        kinds = {h.spec.serial: h.kinds for h in self.homes}
        while self.sent < len(self.rows) and self.rows[self.sent][0] <= upto_ms:
            ts, serial, key, value = self.rows[self.sent]
            if kinds[serial][key] in URGENT_SENSOR_KINDS:
                self.platform.agents[serial].publish_event(key, ts, value)
            else:
                batch[serial].append((key, ts, value))
            self.sent += 1
            self.published += 1
        for serial, readings in batch.items():
            self.platform.agents[serial].publish_readings(readings)


@dataclass
class ReplayStats:
    """How the replay went: steps, wall time, where the time went."""

    steps: int = 0
    seconds: float = 0.0
    waiting_for_storage_s: float = 0.0
    waiting_for_judgement_s: float = 0.0
    readings_published: int = 0
    dead_letters: int = 0
    alerts_by_kind: dict[str, int] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    total_s: float = 0.0  # stores, services, history, training and the replay

    def figures(self) -> dict[str, Any]:
        """For the JSON line."""
        return {
            "steps": self.steps,
            "replay_s": round(self.seconds, 1),
            "ms_per_step": round(1000 * self.seconds / self.steps, 1) if self.steps else None,
            "waiting_for_storage_s": round(self.waiting_for_storage_s, 1),
            "waiting_for_judgement_s": round(self.waiting_for_judgement_s, 1),
            "readings_published": self.readings_published,
            "dead_letters": self.dead_letters,
            "alert_raises_by_kind": self.alerts_by_kind,
        }


async def _until(check: Any, what: str, within: float = WAIT_S) -> float:
    """Await `check()` until true, polling fast; the seconds waited."""
    began = time.perf_counter()
    pause = 0.002
    while not await check():
        if time.perf_counter() - began > within:
            raise TimeoutError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.02)
    return time.perf_counter() - began


async def _stored(conn: asyncpg.Connection, feed: Feed, after: datetime, upto: datetime) -> float:
    want = feed.expected(to_ms(after), to_ms(upto))

    async def done() -> bool:
        return int(await conn.fetchval(_STORED, after, upto)) >= want

    return await _until(done, f"{want} readings in ({after}, {upto}] stored by the gateway")


async def _judged(redis: Redis, moments: list[datetime], parts: list[str]) -> float:
    """Move the driven clock through `moments`; wait until inference judged up to the last."""
    began = time.perf_counter()
    moment = moments[-1]
    want = to_ms(moment)
    async with redis.pipeline(transaction=True) as pipe:  # one read sees them all
        for each in moments:
            pipe.xadd(CLOCK_KEY, {"ms": to_ms(each)}, maxlen=KEEP, approximate=True)
        await pipe.execute()
    for part in parts:
        key = f"{CLOCK_KEY}:{part}"
        newest: Any = await redis.xrevrange(key, count=1)
        after, judged = (newest[0][0], int(newest[0][1][b"ms"])) if newest else (b"0", 0)
        while judged < want:
            if time.perf_counter() - began > WAIT_S:
                raise TimeoutError(f"inference's {part} judgement at {moment} never came")
            reply: Any = await redis.xread({key: after}, block=1000)
            if reply:
                after, fields = reply[0][1][-1]
                judged = int(fields[b"ms"])
    return time.perf_counter() - began


async def _urgent_drained(redis: Redis) -> float:
    async def done() -> bool:
        groups = await redis.xinfo_groups(URGENT_STREAM)
        mine = [g for g in groups if g["name"] in (INFERENCE_GROUP, INFERENCE_GROUP.encode())]
        return bool(mine) and mine[0]["pending"] == 0 and not mine[0].get("lag")

    return await _until(done, "inference to read the whole urgent stream")


async def replay(
    platform: Platform,
    homes: list[ReplayHome],
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    model: bool,
) -> tuple[dict[int, list[Raised]], ReplayStats]:
    """Run the labelled period through the platform; every alert raise by resident id.

    Each step moves the driven clock by `step`, through every routine interval in it (with
    the model; the windowed rules catch up over the step every 5 minutes by themselves).
    """
    every = timedelta(seconds=platform.routine_interval_s) if model else step
    if step % every:
        raise ValueError(f"a step ({step}) must be a whole number of routine intervals")
    stats = ReplayStats()
    began = time.perf_counter()
    await platform.start()
    ids = await platform.provision([h.spec for h in homes])
    for home in homes:
        home.resident_id = ids[home.spec.serial]
    platform.start_service("gateway")
    platform.wait_log("gateway", "subscribed")
    platform.connect_hubs([h.spec.serial for h in homes])
    feed = Feed(platform, homes)
    for home in homes:
        feed.add(home.spec.serial, home.life.readings)
        if home.history is not None:
            feed.add(home.spec.serial, home.history.readings)
    feed.ready()
    conn = await asyncpg.connect(platform.dsn)
    redis = Redis.from_url(platform.redis.url)
    try:
        await _until(lambda: _all_online(conn, len(homes)), "every hub online (status message)", 60)
        if model:  # the normal history first, then the real training run on it
            feed.publish_until(to_ms(start))
            epoch = datetime.fromtimestamp(0, tz=start.tzinfo)
            await _stored(conn, feed, epoch, start)
            trained = time.perf_counter()
            summary = await asyncio.to_thread(platform.train, start)
            stats.training = {
                "summary": summary,
                "seconds": round(time.perf_counter() - trained, 1),
            }
            stats.training["models"] = await _models(conn)
        platform.start_service("inference")
        platform.wait_log("inference", "inference consuming")
        if model:
            platform.wait_log(
                "inference",
                "routine model version",
                count=int(stats.training["summary"]["promoted"]),
            )
        parts = [WINDOWED_PART, ROUTINE_PART] if model else [WINDOWED_PART]
        replayed = time.perf_counter()
        feed.publish_until(to_ms(start + step))
        stats.waiting_for_storage_s += await _stored(conn, feed, start - timedelta(days=2), start)
        stats.waiting_for_judgement_s += await _judged(redis, [start], parts)
        now = start
        while now < end:
            later = now + step
            feed.publish_until(to_ms(later + step))  # the next step's readings are on their way
            stats.waiting_for_storage_s += await _stored(conn, feed, now, later)
            moments = [now + k * every for k in range(1, round(step / every) + 1)]
            stats.waiting_for_judgement_s += await _judged(redis, moments, parts)
            stats.steps += 1
            now = later
        await _urgent_drained(redis)
        stats.seconds = time.perf_counter() - replayed
        stats.readings_published = feed.published
        stats.dead_letters = int(await conn.fetchval("SELECT count(*) FROM dead_letters"))
        raised = await _raises(conn)
    finally:
        await redis.aclose()
        await conn.close()
        platform.stop()
    counts: dict[str, int] = defaultdict(int)
    for alerts in raised.values():
        for alert in alerts:
            counts[alert.kind] += 1
    stats.alerts_by_kind = dict(sorted(counts.items()))
    stats.total_s = round(time.perf_counter() - began, 1)
    return raised, stats


async def _all_online(conn: asyncpg.Connection, hubs: int) -> bool:
    return int(await conn.fetchval("SELECT count(*) FROM hubs WHERE online")) == hubs


async def _models(conn: asyncpg.Connection) -> dict[str, Any]:
    rows = await conn.fetch(
        "SELECT resident_id, days, metrics FROM routine_models WHERE state = 'promoted'"
    )
    out: dict[str, Any] = {}
    for row in rows:
        metrics = orjson.loads(row["metrics"]) if isinstance(row["metrics"], str) else {}
        out[str(row["resident_id"] or "population")] = {
            "days": row["days"],
            "calibration": round(float(metrics.get("calibration", 0.0)), 2),
            "held_out_false_alert_rate": round(float(metrics.get("false_alert_rate", 0.0)), 3),
        }
    return out


async def _raises(conn: asyncpg.Connection) -> dict[int, list[Raised]]:
    """Every raise or repeat of an alert, by resident, with when it was decided."""
    out: dict[int, list[Raised]] = defaultdict(list)
    for row in await conn.fetch(_RAISES):
        details = row["details"]
        details = orjson.loads(details) if isinstance(details, str) else dict(details or {})
        episode = datetime.fromisoformat(details["reading_at"])
        decided = datetime.fromisoformat(details.get("judged_at", details["reading_at"]))
        out[row["resident_id"]].append(Raised(row["kind"], episode, decided))
    return out
