"""A training run: residents in parallel processes, artifacts to object storage, versions
registered, and (when asked and the evaluation passes) promoted.

Each worker process takes residents a chunk at a time: it reads the chunk's histories from
the time series in one query, and for each resident builds the shared features, evaluates
on held-out days, fits on every day, and stores the artifact. The main process registers
versions (one connection), fits the population prior from a sample of everyone's days,
and promotes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import multiprocessing
import platform
import random
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as package_version
from typing import Any, Literal

import asyncpg
from redis.asyncio import Redis

from sst_ai_training import registry
from sst_ai_training.batch import DayTable
from sst_ai_training.fit import evaluate, evaluate_table, fit_model, fit_table
from sst_ai_training.settings import TrainingSettings
from sst_ai_training.source import load_events, load_events_many, resident_zone, resident_zones
from sst_ai_training.trend import fit_trend
from sst_core.features import FEATURE_VERSION, DayRecord, history_days
from sst_core.objects import ObjectStore, open_store, resident_prefix
from sst_core.routine_model import RoutineModel

log = logging.getLogger("sst.training")

POPULATION_SAMPLE_RESIDENTS = 200
POPULATION_SAMPLE_DAYS = 14
# Residents a worker reads in one query: large enough that planning the query over every
# partition is paid rarely, small enough that both workers get work till the end.
MAX_CHUNK = 25
Status = Literal["trained", "too_little_history", "failed"]


@dataclass
class TrainResult:
    """What training did for one resident."""

    resident_id: int | None
    status: Status
    days: int = 0
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    artifact_key: str | None = None
    data_start: datetime | None = None
    data_end: datetime | None = None
    version: int | None = None
    promoted: bool = False
    sample: list[DayRecord] = field(default_factory=list)  # for the population prior


def library_versions() -> dict[str, str]:
    """Versions of what made an artifact, recorded with it."""
    return {
        "python": platform.python_version(),
        "scikit-learn": package_version("scikit-learn"),
        "numpy": package_version("numpy"),
        "boto3": package_version("boto3"),
        "feature_version": str(FEATURE_VERSION),
    }


def artifact_key(resident_id: int | None, end: datetime) -> str:
    """Object key of a new artifact: per resident, dated, unique."""
    folder = "routine-models/population/" if resident_id is None else resident_prefix(resident_id)
    return f"{folder}{end:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.json"


def train_resident(
    resident_id: int, start: datetime, end: datetime, settings: TrainingSettings
) -> TrainResult:
    """Train, evaluate and store one resident's model."""
    return train_chunk([resident_id], start, end, settings)[0]


def train_chunk(
    resident_ids: Sequence[int], start: datetime, end: datetime, settings: TrainingSettings
) -> list[TrainResult]:
    """Train, evaluate and store a few residents' models (runs in a worker process)."""
    try:
        histories = asyncio.run(_histories(list(resident_ids), start, end, settings))
        store = open_store(settings)
    except Exception as exc:  # the database or the store is unreachable: say so per resident
        log.exception("reading the history of residents %s failed", list(resident_ids))
        message = f"{type(exc).__name__}: {exc}"
        return [TrainResult(rid, "failed", message=message) for rid in resident_ids]
    return [_train_one(rid, histories[rid], start, end, settings, store) for rid in resident_ids]


def _train_one(
    resident_id: int,
    history: list[DayRecord] | Exception,
    start: datetime,
    end: datetime,
    settings: TrainingSettings,
    store: ObjectStore,
) -> TrainResult:
    try:
        if isinstance(history, Exception):
            raise history
        records = history
        rng = random.Random(resident_id)
        sample = rng.sample(records, min(POPULATION_SAMPLE_DAYS, len(records)))
        if len(records) < settings.train_min_days:
            return TrainResult(
                resident_id,
                "too_little_history",
                days=len(records),
                message=(
                    f"{len(records)} complete days of history, fewer than "
                    f"{settings.train_min_days}: the population prior applies"
                ),
                sample=sample,
            )
        table = DayTable.of(records)
        metrics = evaluate_table(table, threshold=settings.train_alert_threshold)
        model = fit_table(table, resident_id=resident_id)
        model = dataclasses.replace(model, trend=fit_trend(records))
        metrics.update(days=len(records), calibration=model.calibration)
        metrics["trend_threshold"] = None if model.trend is None else model.trend.threshold
        key = artifact_key(resident_id, end)
        model = _with_metadata(model, start, end, metrics)
        store.put(key, model.to_json())
        return TrainResult(
            resident_id,
            "trained",
            days=len(records),
            metrics=metrics,
            artifact_key=key,
            data_start=start,
            data_end=end,
            sample=sample,
        )
    except Exception as exc:  # one resident's bad data must not stop the run
        log.exception("training resident %s failed", resident_id)
        return TrainResult(resident_id, "failed", message=f"{type(exc).__name__}: {exc}")


async def _histories(
    resident_ids: list[int], start: datetime, end: datetime, settings: TrainingSettings
) -> dict[int, list[DayRecord] | Exception]:
    """Complete history days of each resident (a LookupError for one that does not exist)."""
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        zones = await resident_zones(conn, resident_ids)
        events = await load_events_many(conn, [r for r in resident_ids if r in zones], start, end)
    finally:
        await conn.close()
    histories: dict[int, list[DayRecord] | Exception] = {}
    for rid in resident_ids:
        try:
            if rid not in zones:
                raise LookupError(f"resident {rid} does not exist")
            histories[rid] = list(history_days(events[rid], zones[rid]))
        except Exception as exc:  # one resident's bad data fails that resident alone
            histories[rid] = exc
    return histories


def _with_metadata(
    model: RoutineModel, start: datetime, end: datetime, metrics: dict[str, Any]
) -> RoutineModel:
    metadata = {
        "data_start": start.isoformat(),
        "data_end": end.isoformat(),
        "library_versions": library_versions(),
        "metrics": metrics,
    }
    return dataclasses.replace(model, metadata=metadata)


async def _records(
    resident_id: int, start: datetime, end: datetime, settings: TrainingSettings
) -> list[DayRecord]:
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        zone = await resident_zone(conn, resident_id)
        events = await load_events(conn, resident_id, start, end)
    finally:
        await conn.close()
    return list(history_days(events, zone))


def training_window(settings: TrainingSettings, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end) of history to train on: `train_history_days` whole days (plus one)."""
    end = (end or datetime.now(UTC)).astimezone(UTC)
    # One day more than asked: the first local day is cut (its night began before it).
    return end - timedelta(days=settings.train_history_days + 1), end


async def select_residents(
    conn: asyncpg.Connection,
    *,
    resident_id: int | None = None,
    facility_id: int | None = None,
    everyone: bool = False,
    changed_only: bool = False,
) -> list[int]:
    """The residents a run is about: one, a facility's, everyone, or those with new data."""
    if changed_only:
        return await registry.residents_with_new_data(conn)
    if resident_id is not None:
        if not await conn.fetchval("SELECT 1 FROM residents WHERE id = $1", resident_id):
            raise LookupError(f"resident {resident_id} does not exist")
        return [resident_id]
    if facility_id is not None:
        rows = await conn.fetch(
            "SELECT id FROM residents WHERE facility_id = $1 ORDER BY id", facility_id
        )
        if not rows and not await conn.fetchval(
            "SELECT 1 FROM facilities WHERE id = $1", facility_id
        ):
            raise LookupError(f"facility {facility_id} does not exist")
        return [row[0] for row in rows]
    if everyone:
        return [row[0] for row in await conn.fetch("SELECT id FROM residents ORDER BY id")]
    raise ValueError("name a resident, a facility, or everyone")


Progress = Callable[[TrainResult], None]


def chunks(resident_ids: Sequence[int], workers: int) -> list[list[int]]:
    """Residents in chunks for the workers: four chunks per worker or more, MAX_CHUNK at most."""
    ids = list(resident_ids)
    size = max(1, min(MAX_CHUNK, math.ceil(len(ids) / (4 * workers))))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def train_residents(
    resident_ids: Sequence[int],
    *,
    settings: TrainingSettings,
    end: datetime | None = None,
    promote: bool = False,
    population: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[TrainResult]:
    """Train residents in `workers` processes; register, and promote what passes the gate.

    With `population`, also fit the population prior from a sample of their days (runs
    over a facility or everyone; a one-resident run must not replace everyone's prior).
    """
    start, end = training_window(settings, end)
    workers = workers or settings.train_workers
    results: list[TrainResult] = []
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    redis = Redis.from_url(settings.redis_url)
    try:
        # Not fork: the parent holds an event loop, connections and threads. A fork server
        # that imported the training code once starts each worker without re-importing it.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sst_ai_training.pipeline"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                asyncio.wrap_future(pool.submit(train_chunk, chunk, start, end, settings))
                for chunk in chunks(resident_ids, workers)
            ]
            for next_done in asyncio.as_completed(futures):
                for result in await next_done:
                    await _register(conn, redis, result, settings, promote=promote)
                    results.append(result)
                    if progress:
                        progress(result)
        if population and results:
            prior = await _population(results, settings, start, end)
            if prior is not None:
                await _register(conn, redis, prior, settings, promote=promote)
                results.append(prior)
                if progress:
                    progress(prior)
    finally:
        await conn.close()
        await redis.aclose()
    for result in results:
        result.sample = []
    return results


async def _register(
    conn: asyncpg.Connection,
    redis: Redis,
    result: TrainResult,
    settings: TrainingSettings,
    *,
    promote: bool,
) -> None:
    if result.status != "trained" or result.artifact_key is None:
        return
    version = await registry.register(
        conn,
        resident_id=result.resident_id,
        feature_version=FEATURE_VERSION,
        artifact_key=result.artifact_key,
        data_start=result.data_start,
        data_end=result.data_end,
        days=result.days,
        metrics=result.metrics,
        library_versions=library_versions(),
    )
    result.version = version.version
    rate = result.metrics.get("false_alert_rate")
    passes = rate is None or rate <= settings.train_max_false_alert_rate
    if promote and passes:
        await registry.promote(conn, redis, result.resident_id, version.version)
        result.promoted = True
    elif promote:
        result.message = (
            f"not promoted: false alert rate {rate:.2f} on held-out days is above "
            f"{settings.train_max_false_alert_rate:.2f}"
        )


async def _population(
    results: list[TrainResult], settings: TrainingSettings, start: datetime, end: datetime
) -> TrainResult | None:
    """The population prior, fitted on a sample of days from everyone trained this run."""
    donors = [r for r in results if r.sample]
    random.Random(0).shuffle(donors)
    days = [day for r in donors[:POPULATION_SAMPLE_RESIDENTS] for day in r.sample]
    if len(days) < settings.train_min_days:
        return None
    days.sort(key=lambda rec: rec.day)
    model = fit_model(days, resident_id=None, prior="population")
    metrics: dict[str, Any] = {
        "days": len(days),
        "residents": min(len(donors), POPULATION_SAMPLE_RESIDENTS),
        "calibration": model.calibration,
    }
    key = artifact_key(None, end)
    model = _with_metadata(model, start, end, metrics)
    store = open_store(settings)
    await asyncio.to_thread(store.put, key, model.to_json())
    return TrainResult(
        None,
        "trained",
        days=len(days),
        metrics=metrics,
        artifact_key=key,
        data_start=start,
        data_end=end,
    )


def evaluate_resident(
    resident_id: int, settings: TrainingSettings, end: datetime | None = None
) -> dict[str, Any]:
    """Held-out evaluation of a resident's model without storing anything."""
    start, end = training_window(settings, end)
    records = asyncio.run(_records(resident_id, start, end, settings))
    if len(records) < settings.train_min_days:
        return {"days": len(records), "note": "too little history: the population prior applies"}
    return {"days": len(records), **evaluate(records, threshold=settings.train_alert_threshold)}
