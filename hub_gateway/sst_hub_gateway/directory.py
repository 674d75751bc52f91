"""Which sensor and resident a (hub serial, sensor key) is: read from PostgreSQL, cached.

A hub is loaded whole (all its sensors and its home's resident) in one query, and many
hubs in one round trip. Entries are trusted for `refresh_s`; an unknown hub or sensor is
looked up again at most every `miss_retry_s`, so a flood of unknown devices costs the
database at most one query per hub per few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Set
from dataclasses import dataclass, field

import asyncpg

_HUBS_QUERY = """
SELECT h.serial, h.id AS hub_id,
       (SELECT min(r.id) FROM residents r WHERE r.home_id = h.home_id) AS resident_id,
       s.key, s.id AS sensor_id, s.kind
FROM hubs h LEFT JOIN sensors s ON s.hub_id = h.id
WHERE h.serial = ANY($1::text[])
"""
_MAX_MISSES = 100_000


@dataclass(frozen=True, slots=True)
class SensorRef:
    """A resolved sensor: its id, its kind, and the resident its readings are about."""

    sensor_id: int
    resident_id: int | None
    kind: str


@dataclass(slots=True)
class HubEntry:
    """One hub as last read from the database."""

    hub_id: int
    resident_id: int | None
    loaded_at: float
    sensors: dict[str, SensorRef] = field(default_factory=dict)


class Directory:
    """Cache of hubs and their sensors, refreshed from PostgreSQL on demand."""

    def __init__(self, pool: asyncpg.Pool, *, refresh_s: float, miss_retry_s: float) -> None:
        self._pool = pool
        self._refresh_s = refresh_s
        self._miss_retry_s = miss_retry_s
        self._hubs: dict[str, HubEntry] = {}
        self._misses: dict[str, float] = {}  # unknown hub serial -> when we last looked
        self.queries = 0

    async def prepare(self, wanted: Mapping[str, Set[str]]) -> None:
        """Make sure the hubs (and sensor keys) a batch mentions are loaded if they exist."""
        now = time.monotonic()
        stale = [serial for serial, keys in wanted.items() if self._needs_load(serial, keys, now)]
        if not stale:
            return
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_HUBS_QUERY, stale)
        self.queries += 1
        loaded: dict[str, HubEntry] = {}
        for row in rows:
            entry = loaded.get(row["serial"])
            if entry is None:
                entry = HubEntry(row["hub_id"], row["resident_id"], now)
                loaded[row["serial"]] = entry
            if row["sensor_id"] is not None:
                entry.sensors[row["key"]] = SensorRef(
                    row["sensor_id"], row["resident_id"], row["kind"]
                )
        if len(self._misses) > _MAX_MISSES:
            self._misses.clear()
        for serial in stale:
            if serial in loaded:
                self._hubs[serial] = loaded[serial]
                self._misses.pop(serial, None)
            else:
                self._hubs.pop(serial, None)
                self._misses[serial] = now

    def may_reload(self, serial: str, key: str) -> bool:
        """Whether a sensor missing from a cached hub is worth a new look-up now."""
        return self._needs_load(serial, {key}, time.monotonic())

    def hub(self, serial: str) -> HubEntry | None:
        """The cached hub, or None when it is unknown."""
        return self._hubs.get(serial)

    def _needs_load(self, serial: str, keys: Set[str], now: float) -> bool:
        entry = self._hubs.get(serial)
        if entry is None:
            missed = self._misses.get(serial)
            return missed is None or now - missed >= self._miss_retry_s
        age = now - entry.loaded_at
        if age >= self._refresh_s:
            return True
        return age >= self._miss_retry_s and not keys <= entry.sensors.keys()
