"""Queries of the right to erasure: the foreign-key graph, and rows without foreign keys.

Deleting follows the database's own foreign keys rather than a list kept here, so a table
another part of SST adds later (emergency contacts, deliveries, video sessions) that
references a resident, home, hub, sensor or robot is erased too, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_FOREIGN_KEYS = text(
    """
    SELECT child.relname AS child, ca.attname AS child_column, pa.attname AS parent_column,
           c.confdeltype::text AS on_delete
    FROM pg_constraint c
    JOIN pg_class child ON child.oid = c.conrelid
    JOIN pg_class parent ON parent.oid = c.confrelid
    JOIN pg_namespace n ON n.oid = parent.relnamespace
    JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = c.conkey[1]
    JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
    WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND parent.relname = :parent
      AND n.nspname = current_schema() AND NOT child.relispartition
    ORDER BY child.relname, ca.attname
    """
)
# Tables that hold evidence: never deleted from (the audit log refuses it anyway).
KEPT = frozenset({"audit_log"})
_MAX_DEPTH = 6


@dataclass(frozen=True)
class ForeignKey:
    """`child.child_column` references `parent.parent_column`."""

    child: str
    child_column: str
    parent_column: str
    on_delete: str  # pg_constraint.confdeltype: a no action, r restrict, c cascade, n/d set


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def foreign_keys_to(session: AsyncSession, *, parent: str) -> list[ForeignKey]:
    """Single-column foreign keys that reference `parent`."""
    rows = (await session.execute(_FOREIGN_KEYS, {"parent": parent})).all()
    return [ForeignKey(r.child, r.child_column, r.parent_column, r.on_delete) for r in rows]


async def delete_tree(
    session: AsyncSession,
    *,
    table: str,
    where: str,
    params: dict[str, object],
    counts: dict[str, int],
    nulled: dict[str, int],
    depth: int = 0,
) -> None:
    """Delete the rows of `table` matching `where`, children first, counting per table.

    Children whose key is ON DELETE SET NULL are not deleted (they belong to someone
    else, e.g. an alert of another resident that named this sensor); they are counted in
    `nulled` as anonymised.
    """
    if depth > _MAX_DEPTH or table in KEPT:
        return
    for fk in await foreign_keys_to(session, parent=table):
        selector = (
            f"{_ident(fk.child_column)} IN "
            f"(SELECT {_ident(fk.parent_column)} FROM {_ident(table)} WHERE {where})"
        )
        if fk.on_delete in ("n", "d"):
            found = await session.scalar(
                text(f"SELECT count(*) FROM {_ident(fk.child)} WHERE {selector}"), params
            )
            if found:
                key = f"{fk.child}.{fk.child_column}"
                nulled[key] = nulled.get(key, 0) + int(found)
            continue
        await delete_tree(
            session,
            table=fk.child,
            where=selector,
            params=params,
            counts=counts,
            nulled=nulled,
            depth=depth + 1,
        )
    result = await session.execute(text(f"DELETE FROM {_ident(table)} WHERE {where}"), params)
    deleted = int(getattr(result, "rowcount", 0) or 0)
    counts[table] = counts.get(table, 0) + deleted


async def home_devices(session: AsyncSession, *, home_id: int) -> tuple[list[int], list[str]]:
    """Ids of the sensors and serials of the hubs of a home."""
    sensors = await session.scalars(
        text("SELECT s.id FROM sensors s JOIN hubs h ON h.id = s.hub_id WHERE h.home_id = :h"),
        {"h": home_id},
    )
    hubs = await session.scalars(text("SELECT serial FROM hubs WHERE home_id = :h"), {"h": home_id})
    return [int(s) for s in sensors], [str(h) for h in hubs]


async def delete_rows(session: AsyncSession, sql: str, params: dict[str, object]) -> int:
    """Run one DELETE and say how many rows went."""
    result = await session.execute(text(sql), params)
    return int(getattr(result, "rowcount", 0) or 0)


async def readings_span(
    session: AsyncSession, *, resident_id: int, sensor_ids: list[int]
) -> tuple[object, object]:
    """First and last time of the readings about to be erased (for the rollup refresh)."""
    row = (
        await session.execute(
            text(
                "SELECT min(time), max(time) FROM readings "
                "WHERE resident_id = :rid OR sensor_id = ANY(:sids)"
            ),
            {"rid": resident_id, "sids": sensor_ids},
        )
    ).one()
    return row[0], row[1]


async def lock_rollups(session: AsyncSession, *, key: int) -> None:
    """Hold the rollup refresh lock until the end of the transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
