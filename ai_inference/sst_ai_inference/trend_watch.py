"""The gradual-decline watch: once a day per resident, the trend's CUSUM (sst_core.trend).

At the first routine round after a resident's local midnight, the day that just ended is
judged from its readings in PostgreSQL (and the evening before it, as training reads a
day), unless a day alert (a fall, inactivity, a routine deviation...) was raised on it:
the carer heard about that day, and a slow trend is made of days each ordinary enough.
A process that was down catches up at most CATCH_UP_DAYS days. Crossing the threshold
raises one `gradual_decline` alert with the run's most worrying changes in words, and
the sum starts again from zero.

The sum and the last day judged are kept in Redis (TREND_KEY), shared by every process
like the routine hysteresis, and across model versions: nightly retraining must not
reset a decline in progress. Lost, the sum starts from zero (a later alert, never a
false one). Only residents with a model of their own that carries trend numbers are
watched: the population prior knows nobody's usual weeks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.alerts import raise_alert
from sst_ai_inference.directory import Directory
from sst_ai_inference.rules import draft_alert
from sst_core.domain import AlertKind, Severity
from sst_core.features import FEATURE_SENSORS, Event, local_clock, local_minute
from sst_core.routine_model import RoutineModel
from sst_core.texts import AlertText, phrase
from sst_core.trend import TrendState, complete_days, explanation, judge_days

log = logging.getLogger("sst.inference.trend")

TREND_KEY = "sst:routine:trend"  # hash resident id -> {"day": last day judged, "state": ...}
CATCH_UP_DAYS = 7
CARRY_OVER_MS = 6 * 3600 * 1000  # the evening before the first day: bed and last movement
# A day with one of these alerts raised on it is left out of the trend.
DAY_ALERT_KINDS = tuple(
    kind.value
    for kind in (
        AlertKind.FALL,
        AlertKind.EMERGENCY_BUTTON,
        AlertKind.INACTIVITY,
        AlertKind.LONG_BATHROOM_STAY,
        AlertKind.NIGHT_EXIT,
        AlertKind.NO_WAKE_UP,
        AlertKind.ROUTINE_DEVIATION,
    )
)
_EVENTS_SQL = """
SELECT r.resident_id, (extract(epoch FROM r.time) * 1000)::bigint AS ts, s.kind,
       rm.kind AS room_kind, r.value
FROM unnest($1::integer[], $2::timestamptz[], $3::timestamptz[]) AS w(resident_id, since, until)
JOIN readings r ON r.resident_id = w.resident_id AND r.time >= w.since AND r.time < w.until
JOIN sensors s ON s.id = r.sensor_id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.time >= $4 AND r.time < $5 AND s.kind = ANY($6::text[])
"""
_ALERTED_SQL = """
SELECT resident_id, opened_at FROM alerts
WHERE resident_id = ANY($1::integer[]) AND opened_at >= $2 AND opened_at < $3
  AND kind = ANY($4::text[])
"""


@dataclass(frozen=True)
class Due:
    """A resident with days to judge: which, in which zone, from what state."""

    resident_id: int
    zone: Any
    first: date
    last: date
    state: TrendState

    def window_ms(self) -> tuple[int, int]:
        """UTC ms of the readings these days need: the evening before first, to after last."""
        clock = local_clock(self.zone)
        since = clock.moment_ms(self.first, 0) - CARRY_OVER_MS
        return since, clock.moment_ms(self.last + timedelta(days=1), 0)


class TrendWatcher:
    """Judges each watched resident's completed days once, and raises decline alerts."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        redis: Redis,
        directory: Directory,
        own_model: Callable[[int], RoutineModel | None],
    ) -> None:
        self.engine = engine
        self.redis = redis
        self.directory = directory
        self.own_model = own_model

    async def watch(self, resident_ids: list[int], now: datetime) -> list[int]:
        """Judge every day that ended before `now` and was not judged yet; who was alerted."""
        watched = []
        for rid in resident_ids:
            model = self.own_model(rid)
            info = await self.directory.resident(rid)
            if model is not None and model.trend is not None and info is not None:
                watched.append((rid, info))
        if not watched:
            return []
        # Only these residents' states: a round watches one chunk of residents at a time.
        held = await self.redis.hmget(TREND_KEY, [str(rid) for rid, _ in watched])
        due: list[Due] = []
        for (rid, info), raw in zip(watched, held, strict=True):
            today, _ = local_minute(int(now.timestamp() * 1000), info.timezone)
            found = _saved(raw)
            last = today - timedelta(days=1)
            if found is None:
                due.append(Due(rid, info.timezone, last, last, TrendState()))
            elif found[0] < last:
                first = max(found[0] + timedelta(days=1), last - timedelta(days=CATCH_UP_DAYS - 1))
                due.append(Due(rid, info.timezone, first, last, found[1]))
        if not due:
            return []
        events, alerted = await self._fetch(due)
        raised = []
        for item in due:
            model = self.own_model(item.resident_id)
            assert model is not None and model.trend is not None
            records = complete_days(events[item.resident_id], item.zone, item.first, item.last)
            skip = {local_minute(ts, item.zone)[0] for ts in alerted.get(item.resident_id, [])}
            state, alerts = judge_days(
                model.trend, item.state, records, first=item.first, skip=skip
            )
            for _, run in alerts[-1:]:  # catching up over two crossings: one alert says it
                await self._alert(item.resident_id, model, run, now)
                raised.append(item.resident_id)
            doc = {"day": item.last.isoformat(), "state": state.to_dict()}
            await self.redis.hset(TREND_KEY, str(item.resident_id), orjson.dumps(doc))
        return raised

    async def _fetch(self, due: list[Due]) -> tuple[dict[int, list[Event]], dict[int, list[int]]]:
        windows = [item.window_ms() for item in due]
        ids = [item.resident_id for item in due]
        since = [_utc(lo) for lo, _ in windows]
        until = [_utc(hi) for _, hi in windows]
        low, high = min(since), max(until)
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            rows = await driver.fetch(
                _EVENTS_SQL, ids, since, until, low, high, sorted(FEATURE_SENSORS)
            )
            alert_rows = await driver.fetch(_ALERTED_SQL, ids, low, high, list(DAY_ALERT_KINDS))
        events: dict[int, list[Event]] = {rid: [] for rid in ids}
        for rid, ts, kind, room_kind, value in rows:
            events[rid].append(Event(ts, kind, room_kind, value))
        for resident_events in events.values():
            resident_events.sort(key=lambda e: e.ts)
        alerted: dict[int, list[int]] = {}
        for rid, opened_at in alert_rows:
            alerted.setdefault(rid, []).append(int(opened_at.timestamp() * 1000))
        return events, alerted

    async def _alert(
        self, resident_id: int, model: RoutineModel, run: TrendState, now: datetime
    ) -> None:
        info = await self.directory.resident(resident_id)
        assert model.trend is not None
        if info is None:
            return
        name = info.full_name
        draft = draft_alert(
            resident_id=resident_id,
            kind=AlertKind.GRADUAL_DECLINE,
            severity=Severity.MEDIUM,
            words=AlertText(
                title=phrase("alert.gradual_decline.title", name=name),
                explanation=phrase(
                    "alert.gradual_decline.explanation",
                    days=run.run_days,
                    name=name,
                    why=explanation(model.trend, run),
                ),
            ),
            sensor_id=None,
            room=None,
            at=now,
        )
        message = await raise_alert(
            engine=self.engine, redis=self.redis, draft=draft, facility_id=info.facility_id
        )
        if message is not None:
            log.info(
                "gradual decline alert %s for resident %s (%d days, sum %.1f)",
                message.id,
                resident_id,
                run.run_days,
                run.total,
            )


def _saved(raw: Any) -> tuple[date, TrendState] | None:
    """The last day judged and the state after it (None: none kept, or unreadable)."""
    if raw is None:
        return None
    try:
        doc = orjson.loads(raw)
        return date.fromisoformat(doc["day"]), TrendState.from_dict(doc["state"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("unreadable trend state %r; starting again from zero", raw)
        return None


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
