"""Writing the audit log: who saw or did what (rows are append-only in the database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import AuditEntry, User


def record(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the request's transaction."""
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=details or {},
        )
    )
