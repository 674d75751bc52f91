"""Routine models in inference: load each resident's promoted version, hot-reload it, score.

* Models: every promoted version in the registry (routine_models) is loaded from object
  storage at start; a promotion announced on ROUTINE_MODELS_CHANNEL reloads that
  resident at once, and the registry is re-read every `routine_sync_s` in case a message
  was missed. An artifact that cannot be read, is malformed, belongs to someone else or
  was built with another feature version is refused with one clear log line, and the
  resident keeps the model it had (or none: the rules alone watch over them).
* Scoring: every `routine_interval_s` every inference process takes part in one round
  (routine_round.py): the first to see it fixes the plan, every resident in sorted chunks
  of `routine_chunk_size`; each process claims chunks one at a time (Redis SET NX) and
  scores those it wins, so the round is shared and each resident scored once. Scores come
  from the readings of today and yesterday evening in PostgreSQL (the truth, whichever
  process consumed them), with the same features training used (sst_core.features); the
  next chunk's readings are read while one is scored. Also on demand: a message
  {"resident_id": N} on ROUTINE_SCORE_CHANNEL. A process that dies holding a chunk leaves
  it unscored for that round; the next round scores it. On a replay's driven clock a
  process says a round is done only once every chunk of it is finished (clock.py).
* Kept: each chunk's scores become rows of risk_scores (risk_store.py) for the
  dashboard's risk and trend, one per resident and round; rows older than
  `risk_retention_days` are pruned.
* Alerts: a score at or above `routine_alert_score` raises a routine-deviation alert
  with its explanation through the usual path (alerts.raise_alert); it is raised again
  only after the score fell below `routine_clear_score` (hysteresis, kept in Redis so
  every process agrees). A resident whose readings stopped (hub off) is not scored: the
  hub-offline alert covers that, and a silent home must not look like an unusual day.
* Slow trends: after each chunk, the process that scored it has trend_watch.py judge its
  residents' days that ended since the last (once a day per resident with a model of
  their own) for a gradual decline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.alerts import raise_alert
from sst_ai_inference.clock import ROUTINE_PART, DrivenClock
from sst_ai_inference.directory import Directory
from sst_ai_inference.risk_store import RiskStore
from sst_ai_inference.routine_readings import TodayReadings, carry_from_ms, fetch_today
from sst_ai_inference.routine_round import SharedRound
from sst_ai_inference.rules import draft_alert
from sst_ai_inference.settings import InferenceSettings
from sst_ai_inference.trend_watch import TrendWatcher
from sst_core.const import ROUTINE_MODELS_CHANNEL
from sst_core.domain import AlertKind, Severity
from sst_core.features import (
    FEATURE_VERSION,
    DayState,
    Event,
    local_clock,
    local_minute,
)
from sst_core.objects import ObjectStore, open_store
from sst_core.routine_model import ArtifactError, RoutineModel, risk
from sst_core.streams import channel
from sst_core.texts import AlertText, Text, english, phrase

log = logging.getLogger("sst.inference.routine")

ROUTINE_SCORE_CHANNEL = "sst:routine_models:score"
RAISED_KEY = "sst:routine:raised"  # hash resident id -> score of the alert raised
SLOT_LAG_S = 0.01  # how long after a slot starts its round is looked at

_PROMOTED_SQL = """
SELECT id, resident_id, version, feature_version, artifact_key FROM routine_models
WHERE state = 'promoted'
"""


@dataclass(frozen=True)
class LoadedModel:
    """A promoted model version held in memory."""

    id: int
    version: int
    model: RoutineModel


@dataclass(frozen=True)
class ResidentScore:
    """One resident scored at one moment (or why not)."""

    resident_id: int
    at: datetime
    score: int | None
    explanation: str
    prior: str | None = None
    version: int | None = None
    skipped: str | None = None
    text: Text | None = None  # the explanation as message keys and raw values


class RoutineScorer:
    """Per-resident routine models: loading, hot reload, periodic and on-demand scoring."""

    def __init__(
        self,
        *,
        settings: InferenceSettings,
        engine: AsyncEngine,
        redis: Redis,
        directory: Directory,
        store: ObjectStore | None = None,
        clock: Callable[[], float] = time.time,
        driven: DrivenClock | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis
        self.directory = directory
        self.store = store or open_store(settings)
        self.clock = clock
        self.driven = driven  # a replay's clock (bench and tests only, clock.py)
        self.risks = RiskStore(
            engine=engine, retention=timedelta(days=settings.risk_retention_days)
        )
        self.models: dict[int | None, LoadedModel] = {}  # None: the population prior
        self.trend = TrendWatcher(
            engine=engine, redis=redis, directory=directory, own_model=self._own_model
        )
        self._refused: set[int] = set()
        self.chunk_homes = settings.routine_chunk_size  # homes read by one query
        self._round_done: int | None = None  # the last slot this process took part in
        self._lock = asyncio.Lock()

    # -- models ---------------------------------------------------------------------
    async def sync(self) -> None:
        """Load every promoted version that changed; drop models no longer promoted."""
        await self._apply(only=None)

    async def reload(self, resident_id: int | None) -> None:
        """Load one resident's promoted version (None: the population prior) if it changed."""
        await self._apply(only={resident_id})

    async def _apply(self, *, only: set[int | None] | None) -> None:
        async with self._lock:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(text(_PROMOTED_SQL))).mappings().all()
            promoted = {row["resident_id"]: row for row in rows}
            if only is not None:
                promoted = {k: v for k, v in promoted.items() if k in only}
            for gone in (only if only is not None else set(self.models)) - set(promoted):
                if self.models.pop(gone, None) is not None:
                    log.info("no promoted routine model for %s any more", _who(gone))
            for who, row in promoted.items():
                held = self.models.get(who)
                if (held is None or held.id != row["id"]) and row["id"] not in self._refused:
                    await self._load(row)

    async def _load(self, row: Any) -> None:
        who, version = row["resident_id"], row["version"]
        held = self.models.get(who)
        keeping = f"keeping version {held.version}" if held else "the rules alone apply"
        try:
            if row["feature_version"] != FEATURE_VERSION:
                raise ArtifactError(
                    f"feature version {row['feature_version']} does not match this code's "
                    f"{FEATURE_VERSION}"
                )
            raw = await asyncio.to_thread(self.store.get, row["artifact_key"])
            model = RoutineModel.from_json(raw)
            if model.resident_id != who:
                raise ArtifactError(f"the artifact is the model of {_who(model.resident_id)}")
        except Exception as exc:  # a bad artifact must never stop inference
            self._refused.add(row["id"])
            reason = "artifact missing" if isinstance(exc, KeyError) else str(exc)
            log.error(
                "routine model version %s of %s refused (%s: %s); %s",
                version,
                _who(who),
                row["artifact_key"],
                reason,
                keeping,
            )
            return
        self.models[who] = LoadedModel(id=row["id"], version=version, model=model)
        log.info("routine model version %s of %s loaded", version, _who(who))
        if who is not None and model.trend is None:
            log.info(
                "routine model version %s of %s has no trend numbers (trained before the "
                "decline watch, or on under a month of days): gradual decline is not "
                "watched until it is retrained",
                version,
                _who(who),
            )

    def _own_model(self, resident_id: int) -> RoutineModel | None:
        loaded = self.models.get(resident_id)
        return None if loaded is None else loaded.model

    def model_for(self, resident_id: int) -> LoadedModel | None:
        """The resident's own promoted model, else the population prior, else None."""
        return self.models.get(resident_id) or self.models.get(None)

    # -- scoring --------------------------------------------------------------------
    async def score(
        self, resident_ids: Sequence[int] | None = None, *, now: datetime | None = None
    ) -> list[ResidentScore]:
        """Score residents (default: everyone with a model) at `now` (default: the clock)."""
        now = now or datetime.fromtimestamp(self.clock(), tz=UTC)
        if resident_ids is None:
            resident_ids = await self._resident_ids()
        ids = [rid for rid in resident_ids if self.model_for(rid) is not None]
        size = self.chunk_homes
        chunks = _each(enumerate(ids[i : i + size] for i in range(0, len(ids), size)))
        scores: list[ResidentScore] = []
        async with contextlib.aclosing(self._scored_chunks(chunks, now)) as scored:
            async for _, chunk_scores in scored:
                scores.extend(chunk_scores)
        return scores

    async def _resident_ids(self) -> list[int]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text("SELECT id FROM residents"))).scalars())

    async def _scored_chunks(
        self, chunks: AsyncIterator[tuple[int, list[int]]], now: datetime
    ) -> AsyncGenerator[tuple[int, list[ResidentScore]]]:
        """Each chunk's scores, in order, with its index.

        The next chunk is taken (claimed, in a shared round) and its query runs in
        PostgreSQL (another core) while this one is scored: a round takes about the
        scoring alone, not the sum.
        """
        taken = await anext(chunks, None)
        if taken is None:
            return
        pending = asyncio.ensure_future(self._fetch_chunk(taken[1], now))
        try:
            while taken is not None:
                index = taken[0]
                ids, zones, readings = await pending
                taken = await anext(chunks, None)
                if taken is not None:
                    pending = asyncio.ensure_future(self._fetch_chunk(taken[1], now))
                scored = await asyncio.to_thread(self._score_all, ids, readings, zones, now)
                yield index, scored
        finally:
            if not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)

    async def _fetch_chunk(
        self, chunk: list[int], now: datetime
    ) -> tuple[list[int], dict[int, Any], TodayReadings]:
        """The chunk's residents who have a model, their zones and today's readings."""
        ids = [rid for rid in chunk if self.model_for(rid) is not None]
        zones = {}
        for rid in ids:
            info = await self.directory.resident(rid)
            if info is not None:
                zones[rid] = info.timezone
        if not zones:
            return ids, zones, TodayReadings(columns={}, places={}, last={})
        return ids, zones, await self._fetch_today(zones, now)

    async def fetch_events(self, zones: dict[int, Any], now: datetime) -> dict[int, list[Event]]:
        """Each resident's feature readings from their carry-over start to `now`, in order."""
        readings = await self._fetch_today(zones, now)
        return {rid: list(readings.events(rid)) for rid in zones}

    async def _fetch_today(self, zones: dict[int, Any], now: datetime) -> TodayReadings:
        # The raw driver connection: SQLAlchemy's row processing would double the cost.
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return await fetch_today(raw.driver_connection, zones, now)

    def _score_all(
        self,
        ids: list[int],
        readings: TodayReadings,
        zones: dict[int, Any],
        now: datetime,
    ) -> list[ResidentScore]:
        silence = timedelta(minutes=self.settings.routine_max_silence_min)
        scores = []
        for rid in ids:
            loaded = self.model_for(rid)
            zone = zones.get(rid)
            if loaded is None or zone is None:
                continue
            seen = readings.last.get(rid)
            if seen is None or now - seen > silence:
                since = "for a day" if seen is None else f"since {seen.astimezone(zone):%H:%M}"
                scores.append(ResidentScore(rid, now, None, "", skipped=f"no readings {since}"))
                continue
            scores.append(score_one(rid, loaded, readings.events(rid), zone, now))
        return scores

    async def score_and_alert(
        self, resident_ids: Sequence[int] | None = None, *, now: datetime | None = None
    ) -> list[ResidentScore]:
        """Score residents and raise (or clear the hysteresis of) routine-deviation alerts."""
        scores = await self.score(resident_ids, now=now)
        await self._keep(scores)
        return scores

    async def _alert(self, scored: ResidentScore) -> None:
        assert scored.score is not None and scored.score >= self.settings.routine_alert_score
        field = str(scored.resident_id)
        if not await self.redis.hsetnx(RAISED_KEY, field, scored.score):
            return  # already raised for this episode: no repeat until it clears
        info = await self.directory.resident(scored.resident_id)
        if info is None:
            return
        severity = Severity.HIGH if scored.score >= 90 else Severity.MEDIUM
        why = scored.text or phrase("plain", text=scored.explanation)
        draft = draft_alert(
            resident_id=scored.resident_id,
            kind=AlertKind.ROUTINE_DEVIATION,
            severity=severity,
            words=AlertText(
                title=phrase(
                    "alert.routine_deviation.title", name=info.full_name, score=scored.score
                ),
                explanation=phrase(
                    "alert.routine_deviation.explanation", score=scored.score, why=why
                ),
            ),
            sensor_id=None,
            room=None,
            at=scored.at,
        )
        try:
            message = await raise_alert(
                engine=self.engine, redis=self.redis, draft=draft, facility_id=info.facility_id
            )
        except Exception:
            await self.redis.hdel(RAISED_KEY, field)  # try again next round
            raise
        if message is not None:
            log.info(
                "routine deviation alert %s for resident %s (score %s)",
                message.id,
                scored.resident_id,
                scored.score,
            )

    # -- the loop -------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Load models, follow promotions and score on the clock until `stop`."""
        interval = self.settings.routine_interval_s
        if interval <= 0:
            log.info("routine scoring is off (routine_interval_s = 0)")
            return
        await self._guard(self.sync(), "loading routine models")
        listener = asyncio.create_task(self._listen(stop))
        next_sync = time.monotonic() + self.settings.routine_sync_s
        after = b"0"  # the driven clock's last entry seen
        try:
            while not stop.is_set():
                if time.monotonic() >= next_sync:
                    next_sync = time.monotonic() + self.settings.routine_sync_s
                    await self._guard(self.sync(), "re-reading the model registry")
                if self.driven is None:
                    now = datetime.fromtimestamp(self.clock(), tz=UTC)
                    await self._guard(self._round(interval, now), "scoring routines")
                    # Every process wakes just after the next slot starts, so all of them
                    # see a round together and share it.
                    to_next = (self.clock() // interval + 1) * interval - self.clock()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), timeout=min(interval, 5.0, to_next + SLOT_LAG_S)
                        )
                    continue
                # A replay's clock (clock.py): one round at each time it appends, in order.
                times = await self._driven_times(after)
                for _, now in times:
                    await self._guard(self._round(interval, now), "scoring routines")
                if times:
                    after = times[-1][0]
                    await self._guard(self.driven.done(ROUTINE_PART, times[-1][1]), "saying so")
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _driven_times(self, after: bytes) -> list[tuple[bytes, datetime]]:
        """The replay's next times (none yet, or Redis failed and was logged: empty)."""
        assert self.driven is not None
        try:
            return await self.driven.read(after)
        except Exception:
            log.exception("reading the driven clock failed; trying again")
            await asyncio.sleep(self.driven.block_s)
            return []

    async def _round(self, interval: float, now: datetime) -> int:
        """Take part in the round of `now`'s slot (routine_round.py): score, at `now`, the
        chunks this process wins; how many residents it scored."""
        slot = int(now.timestamp() // interval)
        if not self.models or slot == self._round_done:
            return 0
        shared = SharedRound(
            self.redis, slot=slot, interval=interval, owner=self.settings.consumer_name
        )
        chunks = await shared.plan(self._resident_ids, self.settings.routine_chunk_size)
        if chunks is None:
            return 0
        claimed: list[int] = []
        finished: set[int] = set()
        scored = 0
        while True:
            before = len(claimed)
            try:
                async with contextlib.aclosing(
                    self._scored_chunks(_claims(shared, chunks, claimed), now)
                ) as rounds:
                    async for index, scores in rounds:
                        try:
                            await self._keep(scores)
                            scored += len(scores)
                            # Trend watch of the chunk's residents: they are this process's
                            # alone in this round, so each is judged once a day.
                            watched = [rid for rid in chunks[index] if rid in self.models]
                            await self._guard(self.trend.watch(watched, now), "watching trends")
                        finally:
                            finished.add(index)
                            await shared.finish(index)
                break
            except Exception:
                log.exception("routine round %s: a chunk failed; going on with the next", slot)
            finally:
                for index in claimed:  # a chunk that failed is finished too (logged)
                    if index not in finished:
                        finished.add(index)
                        await self._guard(shared.finish(index), "marking a failed chunk")
            if len(claimed) == before:
                return scored  # nothing could be claimed (Redis?): next loop tries again
        self._round_done = slot
        log.debug(
            "routine round %s: %d of %d chunks, %d residents scored here",
            slot,
            len(claimed),
            len(chunks),
            scored,
        )
        if self.driven is not None:  # the replay moves on once the whole round is scored
            await shared.wait_all(len(chunks))
        return scored

    async def _keep(self, scores: list[ResidentScore]) -> None:
        """Store scores and raise (or clear the hysteresis of) their alerts."""
        if scores:
            await self.risks.record(scores, now=scores[0].at)
        # Most scores are ordinary: their hysteresis is cleared in one call, not one each.
        calm = [
            s for s in scores if s.score is not None and s.score < self.settings.routine_clear_score
        ]
        if calm:
            await self.redis.hdel(RAISED_KEY, *(str(s.resident_id) for s in calm))
        for scored in scores:
            if scored.score is not None and scored.score >= self.settings.routine_alert_score:
                await self._alert(scored)

    async def _guard(self, step: Any, what: str) -> None:
        try:
            await step
        except Exception:
            log.exception("%s failed; trying again later", what)

    async def _listen(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(
                        channel(self.redis, ROUTINE_MODELS_CHANNEL),
                        channel(self.redis, ROUTINE_SCORE_CHANNEL),
                    )
                    while not stop.is_set():
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None:
                            await self._guard(self._on_message(message), "a routine message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("routine model channel lost (%r); resubscribing", exc)
                await asyncio.sleep(1.0)

    async def _on_message(self, message: dict[str, Any]) -> None:
        name = message["channel"]
        name = name.decode() if isinstance(name, bytes) else name
        try:
            body = orjson.loads(message["data"])
            resident_id = body["resident_id"]
            if resident_id is not None and not isinstance(resident_id, int):
                raise TypeError("resident_id must be an integer or null")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.error("ignoring malformed message on %s: %r", name, exc)
            return
        if name == channel(self.redis, ROUTINE_MODELS_CHANNEL):
            await self.reload(resident_id)
        elif resident_id is not None:
            await self.score_and_alert([resident_id])


async def _claims(
    shared: SharedRound, chunks: list[list[int]], claimed: list[int]
) -> AsyncIterator[tuple[int, list[int]]]:
    """The chunks of the round this process wins, in order, one claim at a time."""
    for index, chunk in enumerate(chunks):
        if index not in claimed and await shared.claim(index):
            claimed.append(index)
            yield index, chunk


async def _each(items: Iterable[tuple[int, list[int]]]) -> AsyncIterator[tuple[int, list[int]]]:
    for item in items:
        yield item


def score_one(
    resident_id: int, loaded: LoadedModel, events: Iterable[Event], zone: Any, now: datetime
) -> ResidentScore:
    """Score one resident at `now` from today's readings (and yesterday evening's), in order."""
    now_ms = int(now.timestamp() * 1000)
    today, minute = local_minute(now_ms, zone)
    yesterday = today - timedelta(days=1)
    clock = local_clock(zone)
    carry_from = carry_from_ms(zone, now_ms)
    state = DayState(day=yesterday, zone=zone)
    switched = False
    for event in events:
        if event.ts > now_ms or event.ts < carry_from:
            continue
        day, event_minute = clock.minute(event.ts)
        if day == today and not switched:
            state, switched = state.next_day(), True
        state.add(event, event_minute)
    if not switched:
        state = state.next_day()
    snapshot = state.snapshot(minute)
    result = risk(loaded.model, snapshot, day=today, minute=minute)
    why = result.explanation_text(days=loaded.model.days)
    return ResidentScore(
        resident_id=resident_id,
        at=now,
        score=result.score,
        explanation=english(why),
        prior=result.prior,
        version=loaded.version,
        text=why,
    )


def _who(resident_id: int | None) -> str:
    return "the population prior" if resident_id is None else f"resident {resident_id}"
