"""The right to erasure: a resident, their home and devices, and every reading about them."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sst_backend.announce import after_commit
from sst_backend.audit import record
from sst_backend.care_access import require_admin
from sst_backend.erasure import repository
from sst_backend.erasure.schemas import ErasureReport
from sst_backend.errors import APIError, not_found
from sst_backend.residents.repository import get_in_facility
from sst_core.const import ALERTS_STREAM
from sst_core.db import rollups, timeseries
from sst_core.db.models import User
from sst_core.messages import AlertMessage
from sst_core.objects import ObjectStore, recording_prefix, resident_prefix

log = logging.getLogger("sst.backend.erasure")

KEPT = {
    "audit_log": "Append-only evidence of who did what; it holds ids, not the resident's "
    "profile, and this erasure is recorded in it.",
}


async def erase_resident(
    session: AsyncSession,
    redis: Redis,
    engine: AsyncEngine,
    *,
    user: User,
    resident_id: int,
    store: ObjectStore | None = None,
) -> ErasureReport:
    """Delete the resident and everything about them; say what was done, per table."""
    require_admin(user, doing="erase a resident")
    resident = await get_in_facility(
        session, facility_id=user.facility_id, resident_id=resident_id, lock=True
    )
    if resident is None:
        raise not_found("The resident")
    home_id = resident.home_id
    sensor_ids, hub_serials = (
        await repository.home_devices(session, home_id=home_id) if home_id else ([], [])
    )
    connection = await session.connection()
    layout = await connection.run_sync(timeseries.current_layout)
    if layout == "partman":
        # A refresh running meanwhile could write back rollup rows from readings it still
        # sees; taking its lock first makes it wait for this transaction.
        await repository.lock_rollups(session, key=rollups.LOCK_KEY)
    deleted: dict[str, int] = {}
    nulled: dict[str, int] = {}
    params: dict[str, object] = {"rid": resident_id, "sids": sensor_ids}
    span = None
    if layout == "timescaledb":
        span = await repository.readings_span(
            session, resident_id=resident_id, sensor_ids=sensor_ids
        )
    deleted["readings"] = await repository.delete_rows(
        session, "DELETE FROM readings WHERE resident_id = :rid OR sensor_id = ANY(:sids)", params
    )
    if layout == "partman":
        deleted[rollups.VIEW] = await repository.delete_rows(
            session,
            f"DELETE FROM {rollups.VIEW} WHERE resident_id = :rid OR sensor_id = ANY(:sids)",
            params,
        )
        # Their buckets are gone for good; nothing is left to re-aggregate.
        await repository.delete_rows(
            session, f"DELETE FROM {rollups.DIRTY} WHERE sensor_id = ANY(:sids)", params
        )
    deleted["dead_letters"] = await repository.delete_rows(
        session, "DELETE FROM dead_letters WHERE hub_serial = ANY(:hubs)", {"hubs": hub_serials}
    )
    await repository.delete_tree(
        session,
        table="residents",
        where="id = :rid",
        params=params,
        counts=deleted,
        nulled=nulled,
    )
    if home_id is not None:
        # residents.home_id is unique: the home, its hubs, sensors and robots were theirs.
        await repository.delete_tree(
            session,
            table="homes",
            where="id = :hid",
            params={"hid": home_id},
            counts=deleted,
            nulled=nulled,
        )
    if store is not None:
        # Last, once every row is gone in this transaction: if the store fails, nothing is
        # committed and the admin tries again. Routine models hold the resident's routine;
        # video recordings show their home.
        for name, prefix, what in (
            ("model_artifacts", resident_prefix(resident_id), "model files"),
            ("video_recording_files", recording_prefix(resident_id), "video recordings"),
        ):
            try:
                deleted[name] = await asyncio.to_thread(store.delete_prefix, prefix)
            except Exception as exc:  # boto3 raises its own types; any failure stops it
                log.error("erasure of resident %s: %s not deleted: %r", resident_id, what, exc)
                raise APIError(
                    503,
                    "object_store_unavailable",
                    f"The resident's {what} could not be deleted, so nothing was erased. "
                    "Try again in a minute.",
                ) from exc
    report = ErasureReport(
        resident_id=resident_id,
        erased_at=datetime.now(UTC),
        deleted=deleted,
        anonymised=nulled,
        kept=KEPT,
    )
    record(
        session,
        actor=user,
        action="resident.erase",
        target_type="resident",
        target_id=resident_id,
        details={"deleted": deleted, "anonymised": nulled},
    )
    _after_commit(session, redis, engine, resident_id=resident_id, span=span)
    return report


def _after_commit(
    session: AsyncSession,
    redis: Redis,
    engine: AsyncEngine,
    *,
    resident_id: int,
    span: tuple[object, object] | None,
) -> None:
    async def forget_live_alerts() -> None:
        # Alert entries carry the resident's name in their words; drop them from the stream.
        removed = await purge_alert_stream(redis, resident_id=resident_id)
        log.info("erasure of resident %s: %d alert stream entries removed", resident_id, removed)

    after_commit(session, forget_live_alerts)
    if span is not None and isinstance(span[0], datetime) and isinstance(span[1], datetime):
        start, end = span[0], span[1] + timedelta(hours=1)

        async def refresh_cagg() -> None:
            # The continuous aggregate forgets deleted readings only when it is refreshed,
            # and CALL refresh_continuous_aggregate refuses to run in a transaction.
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.run_sync(rollups.refresh_timescale_range, start, end)

        after_commit(session, refresh_cagg)


async def purge_alert_stream(redis: Redis, *, resident_id: int, page: int = 1000) -> int:
    """Delete the alerts-stream entries about one resident; returns how many."""
    removed, cursor = 0, "-"
    while True:
        entries = await redis.xrange(ALERTS_STREAM, min=cursor, max="+", count=page)
        if not entries:
            return removed
        doomed: list[bytes | str] = []
        for entry_id, fields in entries:
            if entry_id is None or fields is None:
                continue
            try:
                if AlertMessage.from_stream(fields).resident_id == resident_id:
                    doomed.append(entry_id)
            except (KeyError, ValueError):
                continue  # not ours to judge; leave it
        if doomed:
            removed += int(await redis.xdel(ALERTS_STREAM, *doomed))
        last = entries[-1][0]
        last_id = last.decode() if isinstance(last, bytes) else str(last)
        cursor = "(" + last_id
        if len(entries) < page:
            return removed
