"""Training on simulated history: registry, promotion, rollback, the prior, S3 via moto."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import orjson
import pandas as pd
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_ai_training import registry
from sst_ai_training.frames import daily_features, expected_activity, history_records
from sst_ai_training.pipeline import train_residents
from sst_ai_training.settings import TrainingSettings
from sst_core.const import ROUTINE_MODELS_CHANNEL
from sst_core.features import FEATURE_VERSION
from sst_core.objects import open_store
from sst_core.routine_model import RoutineModel
from sst_core.streams import channel
from tests.factories import HomeFixture, make_home
from tests.routine_history import local_midnight, write_history

FIRST = date(2026, 9, 1)
DAYS = 30
END_DAY = FIRST + timedelta(days=DAYS)


def _settings(tmp_path: Path, **overrides: Any) -> TrainingSettings:
    values: dict[str, Any] = {
        "object_store": "local",
        "object_store_dir": tmp_path / "objects",
        "train_history_days": DAYS,
        "train_max_false_alert_rate": 1.0,  # the gate has its own test
        **overrides,
    }
    return TrainingSettings(_env_file=None, **values)


async def _connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))


@pytest.fixture
async def trained_home(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> HomeFixture:
    """A resident with 30 simulated days of history in the time series."""
    home = await make_home(sessionmaker, timezone="Europe/London")
    await write_history(database_url, home, FIRST, DAYS)
    return home


async def test_train_registers_promotes_and_rolls_back(
    database_url: str, redis: Redis, trained_home: HomeFixture, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    end = local_midnight(END_DAY, trained_home.timezone)
    rid = trained_home.resident_id
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(redis, ROUTINE_MODELS_CHANNEL))
    seen: list[str] = []
    results = await train_residents(
        [rid], settings=settings, end=end, promote=True, progress=lambda r: seen.append(r.status)
    )
    own = next(r for r in results if r.resident_id == rid)
    assert own.status == "trained", own.message
    assert own.days >= DAYS - 3 and own.version == 1 and own.promoted
    assert own.metrics["held_out_days"] >= 3
    assert 0 <= own.metrics["false_alert_rate"] <= 1
    assert seen[0] == "trained"
    # The artifact is in the store, readable, with its metadata.
    raw = open_store(settings).get(own.artifact_key or "")
    model = RoutineModel.from_json(raw)
    assert model.resident_id == rid and model.prior == "own"
    assert model.feature_version == FEATURE_VERSION
    assert model.metadata["library_versions"]["scikit-learn"]
    assert datetime.fromisoformat(model.metadata["data_end"]) == end
    conn = await _connect(database_url)
    try:
        listed = await registry.versions(conn, rid)
        assert [(v.version, v.state) for v in listed] == [(1, "promoted")]
        assert listed[0].metrics["days"] == own.days
        assert listed[0].library_versions["feature_version"] == str(FEATURE_VERSION)
        # The announcement said which resident and version.
        message = await _next_message(pubsub, rid)
        assert orjson.loads(message) == {"resident_id": rid, "version": 1, "id": listed[0].id}

        second = await train_residents([rid], settings=settings, end=end, promote=True)
        assert next(r for r in second if r.resident_id == rid).version == 2
        states = [(v.version, v.state) for v in await registry.versions(conn, rid)]
        assert states == [(2, "promoted"), (1, "retired")]

        back = await registry.rollback(conn, redis, rid)
        assert back.version == 1
        states = [(v.version, v.state) for v in await registry.versions(conn, rid)]
        assert states == [(2, "retired"), (1, "promoted")]
        with pytest.raises(registry.RegistryError, match="no earlier promoted version"):
            await registry.rollback(conn, redis, rid)
        with pytest.raises(registry.RegistryError, match="no model version 9"):
            await registry.promote(conn, redis, rid, 9)
    finally:
        await conn.close()
        await pubsub.aclose()


async def _next_message(pubsub: Any, resident_id: int) -> bytes:
    """The next announcement about one resident (pub/sub is server-wide: other databases'
    trainings, a benchmark say, announce on the same channel)."""
    for _ in range(200):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None and orjson.loads(message["data"])["resident_id"] == resident_id:
            data: bytes = message["data"]
            return data
    raise AssertionError("no announcement on the routine models channel")


async def test_too_little_history_keeps_the_population_prior(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    trained_home: HomeFixture,
    tmp_path: Path,
) -> None:
    newcomer = await make_home(sessionmaker, timezone="Europe/London")
    await write_history(database_url, newcomer, END_DAY - timedelta(days=6), 6, seed=7)
    settings = _settings(tmp_path)
    end = local_midnight(END_DAY, newcomer.timezone)
    results = await train_residents(
        [trained_home.resident_id, newcomer.resident_id],
        settings=settings,
        end=end,
        promote=True,
        population=True,
    )
    by_id = {r.resident_id: r for r in results}
    short = by_id[newcomer.resident_id]
    assert short.status == "too_little_history"
    assert "population prior applies" in short.message and short.version is None
    prior = by_id[None]
    assert prior.status == "trained" and prior.promoted
    model = RoutineModel.from_json(open_store(settings).get(prior.artifact_key or ""))
    assert model.prior == "population" and model.resident_id is None
    conn = await _connect(database_url)
    try:
        assert await registry.versions(conn, newcomer.resident_id) == []
        assert (await registry.promoted(conn, None)) is not None
    finally:
        await conn.close()


async def test_artifacts_go_to_s3_through_boto3(
    database_url: str, trained_home: HomeFixture, tmp_path: Path, s3_endpoint: str
) -> None:
    settings = _settings(
        tmp_path,
        object_store="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket="sst-models-test",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )
    end = local_midnight(END_DAY, trained_home.timezone)
    results = await train_residents([trained_home.resident_id], settings=settings, end=end)
    (own,) = results
    assert own.status == "trained" and not own.promoted  # --promote not given
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    body = client.get_object(Bucket="sst-models-test", Key=own.artifact_key or "")["Body"].read()
    assert RoutineModel.from_json(body).resident_id == trained_home.resident_id
    assert not (tmp_path / "objects").exists()  # nothing went to the local folder


async def test_feature_tables_and_parquet(
    database_url: str, trained_home: HomeFixture, tmp_path: Path
) -> None:
    start = local_midnight(FIRST, trained_home.timezone)
    end = local_midnight(END_DAY, trained_home.timezone)
    records = await history_records(trained_home.resident_id, start, end)
    assert len(records) == DAYS - 2  # the first and the last day are cut
    table = await asyncio.to_thread(daily_features, trained_home.resident_id, start, end)
    assert list(table["day"]) == [r.day for r in records]
    assert table["wake"].between(5 * 60, 10 * 60).all()  # the simulator's wake-ups
    assert table["kitchen_visits"].min() >= 2
    weekly = expected_activity(records)
    assert len(weekly) == 7 * 24 and weekly["total_activity"].sum() > 0
    out = tmp_path / "daily.parquet"
    result = await asyncio.to_thread(
        subprocess.run,
        [
            "sst-train",
            "features",
            "--resident",
            str(trained_home.resident_id),
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert pd.read_parquet(out)["wake"].tolist() == table["wake"].tolist()


def test_cli_trains_lists_promotes_and_rolls_back(
    database_url: str, trained_home: HomeFixture, tmp_path: Path, test_env: dict[str, str]
) -> None:
    env = {
        **test_env,
        "SST_OBJECT_STORE": "local",
        "SST_OBJECT_STORE_DIR": str(tmp_path / "objects"),
        "SST_TRAIN_HISTORY_DAYS": str(DAYS),
        "SST_TRAIN_MAX_FALSE_ALERT_RATE": "1.0",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run(
            ["sst-train", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
        )

    rid = str(trained_home.resident_id)
    end = local_midnight(END_DAY, trained_home.timezone).isoformat()
    for _ in range(2):
        trained = cli("train", "--resident", rid, "--end", end, "--promote", "--workers", "1")
        assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout.splitlines()[-1])
    assert summary["trained"] == 1 and summary["versions"] == {rid: 2}
    assert summary["promoted"] == 1  # a one-resident run makes no population prior
    assert "training" in trained.stderr  # the progress bar
    rolled = cli("rollback", "--resident", rid)
    assert rolled.returncode == 0 and "promoted version 1" in rolled.stdout
    listed = cli("versions", "--resident", rid).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["v2", "retired"], ["v1", "promoted"]]
    missing = cli("promote", "--resident", "999999999")
    assert missing.returncode == 2 and "has no model version" in missing.stderr
    evaluated = cli("evaluate", "--resident", rid, "--end", end)
    assert json.loads(evaluated.stdout)["held_out_days"] >= 3


async def test_nightly_picks_residents_whose_data_changed(
    database_url: str, trained_home: HomeFixture, tmp_path: Path
) -> None:
    rid = trained_home.resident_id
    conn = await _connect(database_url)
    try:
        assert rid in await registry.residents_with_new_data(conn)  # never trained
        end = local_midnight(END_DAY, trained_home.timezone)
        await train_residents([rid], settings=_settings(tmp_path), end=end, population=False)
        assert rid not in await registry.residents_with_new_data(conn)  # nothing since
        await write_history(database_url, trained_home, END_DAY, 1)  # a new day arrives
        assert rid in await registry.residents_with_new_data(conn)
    finally:
        await conn.close()


async def test_a_model_that_fails_the_gate_is_not_promoted(
    database_url: str, trained_home: HomeFixture, tmp_path: Path
) -> None:
    # An alert threshold of 1 makes every ordinary held-out day a false alert.
    settings = _settings(tmp_path, train_alert_threshold=1, train_max_false_alert_rate=0.5)
    end = local_midnight(END_DAY, trained_home.timezone)
    (result,) = await train_residents(
        [trained_home.resident_id], settings=settings, end=end, promote=True
    )
    assert result.status == "trained" and result.version == 1 and not result.promoted
    assert result.metrics["false_alert_rate"] > 0.5
    assert result.message.startswith("not promoted: false alert rate")
    conn = await _connect(database_url)
    try:
        assert await registry.promoted(conn, trained_home.resident_id) is None
    finally:
        await conn.close()
