"""Reading the audit log: admins of a facility, for what its people saw and did."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from sst_backend.auditlog import repository
from sst_backend.auditlog.schemas import AuditEntryOut
from sst_backend.auth.dependencies import AdminUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, FORBIDDEN_RESPONSE, APIError

router = APIRouter(prefix="/admin/audit", tags=["admin: audit"])
_ERRORS: dict[int | str, dict[str, Any]] = {**ERROR_RESPONSES, **FORBIDDEN_RESPONSE}


@router.get("", response_model=list[AuditEntryOut], responses=_ERRORS)
async def list_audit_entries(
    admin: AdminUser,
    session: Session,
    action: Annotated[str | None, Query(max_length=64, examples=["alert.acknowledge"])] = None,
    target_type: Annotated[str | None, Query(max_length=32, examples=["alert"])] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="From this time (with zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="Page: older ids.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntryOut]:
    """What the people of your facility saw and did, newest first; nobody can edit it."""
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise APIError(422, "invalid_request", "Give times with a zone, e.g. +09:00 or Z.")
    rows = await repository.list_for_facility(
        session,
        facility_id=admin.facility_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit,
    )
    return [
        AuditEntryOut(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_email=email,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details=entry.details,
        )
        for entry, email in rows
    ]
