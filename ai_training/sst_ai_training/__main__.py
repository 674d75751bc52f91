"""`sst-train`: history, features, training, evaluation and the model registry.

sst-train export   --resident 7 --start ... --end ... [--out f.csv|f.parquet]
sst-train features --resident 7 --start ... --end ... --out f.parquet [--hourly]
sst-train train    (--resident 7 | --facility 2 | --all) [--promote] [--workers 2]
sst-train evaluate --resident 7
sst-train versions (--resident 7 | --population)
sst-train promote  (--resident 7 | --population) [--version 3]
sst-train rollback (--resident 7 | --population)
sst-train nightly  [--every-hours 24] [--once]   retrain residents whose data changed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from redis.asyncio import Redis
from tqdm import tqdm

from sst_ai_training import registry
from sst_ai_training.settings import TrainingSettings
from sst_core.logs import setup_logging

if TYPE_CHECKING:
    from sst_ai_training.pipeline import TrainResult

# pandas, pyarrow and scikit-learn take seconds to import on a busy machine: the commands
# that need them import them (the registry commands stay quick).

log = logging.getLogger("sst.training")


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a zone, e.g. 2026-11-01T00:00+09:00")
    return moment


def _range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resident", type=int, required=True)
    parser.add_argument("--start", type=_aware, required=True, help="ISO time with zone")
    parser.add_argument("--end", type=_aware, required=True, help="ISO time with zone")


def _who(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--resident", type=int)
    group.add_argument("--population", action="store_true", help="the population prior")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sst-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="one resident's readings as CSV or Parquet")
    _range(export)
    export.add_argument("--out", default="-", help="file (.csv or .parquet), or - for stdout")
    features = sub.add_parser("features", help="one resident's routine features as Parquet")
    _range(features)
    features.add_argument("--out", required=True, help="a .parquet (or .csv) file")
    features.add_argument("--hourly", action="store_true", help="hourly snapshots, not days")
    train = sub.add_parser("train", help="train models: a resident, a facility, or all")
    group = train.add_mutually_exclusive_group(required=True)
    group.add_argument("--resident", type=int)
    group.add_argument("--facility", type=int)
    group.add_argument("--all", action="store_true")
    train.add_argument("--promote", action="store_true", help="promote what passes the gate")
    train.add_argument("--end", type=_aware, help="end of the history (default: now)")
    train.add_argument("--workers", type=int, help="processes (default SST_TRAIN_WORKERS)")
    train.add_argument(
        "--no-population",
        action="store_true",
        help="skip the population prior (fitted by --facility and --all runs)",
    )
    evaluate = sub.add_parser("evaluate", help="held-out evaluation of a resident, stores nothing")
    evaluate.add_argument("--resident", type=int, required=True)
    evaluate.add_argument("--end", type=_aware)
    _who(sub.add_parser("versions", help="list a resident's model versions"))
    promote = sub.add_parser("promote", help="promote a version (default: the newest)")
    _who(promote)
    promote.add_argument("--version", type=int)
    _who(sub.add_parser("rollback", help="go back to the version promoted before"))
    nightly = sub.add_parser("nightly", help="retrain and promote residents whose data changed")
    nightly.add_argument("--every-hours", type=float, default=24.0)
    nightly.add_argument("--once", action="store_true", help="one round, then exit")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of `sst-train`."""
    parser = _parser()
    args = parser.parse_args(argv)
    settings = TrainingSettings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    try:
        code = asyncio.run(_run(args, settings))
    except (LookupError, ValueError) as exc:
        parser.exit(2, f"sst-train: {exc}\n")
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


async def _run(args: argparse.Namespace, settings: TrainingSettings) -> int:
    command = args.command
    if command in ("export", "features"):
        return await _tables(args, settings)
    if command == "train":
        return await _train(args, settings)
    if command == "evaluate":
        from sst_ai_training.pipeline import evaluate_resident

        metrics = await asyncio.to_thread(evaluate_resident, args.resident, settings, args.end)
        print(json.dumps(metrics, default=str))
        return 0
    if command == "nightly":
        return await _nightly(args, settings)
    return await _registry(args, settings)


async def _tables(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from sst_ai_training.frames import daily_table, history_records, hourly_table, to_parquet
    from sst_ai_training.history import load_readings_async

    if args.command == "export":
        frame = await load_readings_async(args.resident, args.start, args.end, settings=settings)
        if args.out.endswith(".parquet"):
            to_parquet(frame, args.out)
        else:
            frame.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
        return 0
    records = await history_records(args.resident, args.start, args.end, settings=settings)
    table = hourly_table(records) if args.hourly else daily_table(records)
    if args.out.endswith(".csv"):
        table.to_csv(args.out, index=False)
    else:
        to_parquet(table, Path(args.out))
    print(f"{len(table)} rows -> {args.out}", file=sys.stderr)
    return 0


def _bar(total: int) -> tuple[tqdm[Any], Any]:
    bar: tqdm[Any] = tqdm(total=total, unit="resident", desc="training", file=sys.stderr)

    def step(result: TrainResult) -> None:
        if result.resident_id is None:
            bar.write(f"population prior: {result.days} days, version {result.version}")
            return
        bar.update(1)
        if result.status != "trained" or result.message:
            bar.write(f"resident {result.resident_id}: {result.status} {result.message}".rstrip())

    return bar, step


async def _train(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from sst_ai_training.pipeline import select_residents

    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        ids = await select_residents(
            conn, resident_id=args.resident, facility_id=args.facility, everyone=args.all
        )
    finally:
        await conn.close()
    population = args.resident is None and not args.no_population
    return await _train_ids(
        ids, args, settings, promote=args.promote, end=args.end, population=population
    )


async def _train_ids(
    ids: list[int],
    args: argparse.Namespace,
    settings: TrainingSettings,
    *,
    promote: bool,
    end: datetime | None,
    population: bool,
) -> int:
    from sst_ai_training.pipeline import train_residents

    bar, step = _bar(len(ids))
    with bar:
        results = await train_residents(
            ids,
            settings=settings,
            end=end,
            promote=promote,
            population=population,
            workers=getattr(args, "workers", None),
            progress=step,
        )
    summary = {
        "residents": len(ids),
        "trained": sum(r.status == "trained" and r.resident_id is not None for r in results),
        "too_little_history": sum(r.status == "too_little_history" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "promoted": sum(r.promoted for r in results),
        "versions": {
            ("population" if r.resident_id is None else str(r.resident_id)): r.version
            for r in results
            if r.version is not None
        },
    }
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


async def _nightly(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from sst_ai_training.pipeline import select_residents

    while True:
        started = time.monotonic()
        conn = await asyncpg.connect(settings.asyncpg_dsn)
        try:
            ids = await select_residents(conn, changed_only=True)
        finally:
            await conn.close()
        log.info("nightly retraining: %d residents with new data", len(ids))
        code = 0
        if ids:
            code = await _train_ids(
                ids, args, settings, promote=True, end=datetime.now(UTC), population=True
            )
        if args.once:
            return code
        await asyncio.sleep(max(60.0, args.every_hours * 3600 - (time.monotonic() - started)))


async def _registry(args: argparse.Namespace, settings: TrainingSettings) -> int:
    resident = None if args.population else args.resident
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    redis = Redis.from_url(settings.redis_url)
    try:
        if args.command == "versions":
            for v in await registry.versions(conn, resident):
                rate = v.metrics.get("false_alert_rate")
                print(
                    f"v{v.version}\t{v.state}\tfeatures v{v.feature_version}\t{v.days} days\t"
                    f"{v.created_at:%Y-%m-%d %H:%M}\tfalse alerts/day "
                    f"{'-' if rate is None else f'{rate:.3f}'}\t{v.artifact_key}"
                )
            return 0
        if args.command == "promote":
            version = await registry.promote(conn, redis, resident, args.version)
        else:
            version = await registry.rollback(conn, redis, resident)
        print(f"promoted version {version.version} ({version.artifact_key})")
        return 0
    finally:
        await conn.close()
        await redis.aclose()


if __name__ == "__main__":
    main()
