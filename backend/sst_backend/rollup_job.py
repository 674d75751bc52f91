"""The backend's rollup scheduler: keeps `readings_hourly` up to date on plain PostgreSQL.

Every instance may run it; an advisory lock makes a refresh run once at a time, and a
refresh only re-aggregates what was touched since the last one. On TimescaleDB the
continuous aggregate's own policy does the work and this loop returns at once.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.db import rollups, timeseries

log = logging.getLogger("sst.backend.rollups")


async def refresh_once(engine: AsyncEngine) -> rollups.RefreshResult:
    """One incremental refresh, in its own transaction."""
    async with engine.begin() as conn:
        return await conn.run_sync(rollups.refresh)


async def run_rollups(engine: AsyncEngine, stop: asyncio.Event, *, interval_s: float) -> None:
    """Refresh every `interval_s` until `stop` is set; a failure is logged and retried."""
    async with engine.connect() as conn:
        layout = await conn.run_sync(timeseries.current_layout)
    if layout != "partman":
        log.info("rollups are a TimescaleDB continuous aggregate; its policy refreshes them")
        return
    while not stop.is_set():
        try:
            result = await refresh_once(engine)
            if result.buckets:
                log.info("rollups: %d buckets re-aggregated", result.buckets)
        except Exception:  # the database may be away for a while; try again next round
            log.exception("rollup refresh failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        except TimeoutError:
            continue
