"""List, read, acknowledge, resolve and reopen alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from sst_backend.alerts import cursor, repository, service
from sst_backend.alerts.detail import alert_detail
from sst_backend.alerts.repository import AlertFilter
from sst_backend.alerts.schemas import AlertDetailOut, AlertOut, ReopenRequest, ResolveRequest
from sst_backend.auth.dependencies import CurrentUser, StaffUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError, ErrorResponse
from sst_core.domain import AlertState, Severity

router = APIRouter(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**62, description="Alert id.")]
NEXT_CURSOR_HEADER = "X-Next-Cursor"
_CHANGE_ERRORS = {
    **ERROR_RESPONSES,
    403: {"model": ErrorResponse, "description": "Guardians cannot change alerts."},
    409: {"model": ErrorResponse, "description": "The alert is already resolved."},
}
_LIST_RESPONSES = {
    **ERROR_RESPONSES,
    200: {
        "description": "A page of alerts.",
        "headers": {
            NEXT_CURSOR_HEADER: {
                "description": "Pass as `cursor` for the next page; absent on the last page.",
                "schema": {"type": "string"},
            }
        },
    },
}


@router.get("/alerts", response_model=list[AlertOut], responses=_LIST_RESPONSES)
async def list_alerts(
    user: CurrentUser,
    session: Session,
    response: Response,
    state: Annotated[
        list[AlertState] | None, Query(description="Default: open, acknowledged.")
    ] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    resident_id: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None, Query()] = None,
    kind: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=48)]] | None, Query()
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Only alerts still active at or after this time.")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Only alerts opened before this time.")
    ] = None,
    cursor_: Annotated[
        str | None,
        Query(alias="cursor", max_length=200, description="From the X-Next-Cursor header."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Alerts of the residents you may see, most recent activity first, a page at a time."""
    for moment, name in ((since, "since"), (until, "until")):
        if moment is not None and moment.tzinfo is None:
            raise APIError(422, "invalid_request", f"Give {name} with a time zone, e.g. ...Z.")
    if since and until and until <= since:
        raise APIError(422, "invalid_request", "The time range is empty: until must follow since.")
    where = AlertFilter(
        states=[s.value for s in (state or [AlertState.OPEN, AlertState.ACKNOWLEDGED])],
        severities=[s.value for s in severity or []],
        resident_ids=resident_id or [],
        kinds=kind or [],
        since=since,
        until=until,
        after=cursor.decode(cursor_) if cursor_ else None,
    )
    rows = await repository.list_visible(session, user=user, where=where, limit=limit + 1)
    page = [service.to_out(row) for row in rows[:limit]]
    if len(rows) > limit:
        last = page[-1]
        response.headers[NEXT_CURSOR_HEADER] = cursor.encode(last.last_seen_at, last.id)
    return page


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, responses=ERROR_RESPONSES)
async def get_alert(alert_id: AlertId, user: CurrentUser, session: Session) -> AlertDetailOut:
    """One alert with its timeline and escalation ("guardians will be told at ...")."""
    return await alert_detail(session, user=user, alert_id=alert_id)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=_CHANGE_ERRORS)
async def acknowledge(
    alert_id: AlertId, user: StaffUser, session: Session, request: Request
) -> AlertOut:
    """Tell everyone that you are dealing with this alert; escalation stops."""
    return await service.acknowledge(session, request.app.state.redis, user=user, alert_id=alert_id)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=_CHANGE_ERRORS)
async def resolve(
    alert_id: AlertId, body: ResolveRequest, user: StaffUser, session: Session, request: Request
) -> AlertOut:
    """Close the alert with a note on what was found and done."""
    return await service.resolve(
        session, request.app.state.redis, user=user, alert_id=alert_id, note=body.note
    )


_REOPEN_ERRORS = {
    **_CHANGE_ERRORS,
    409: {
        "model": ErrorResponse,
        "description": "The alert is not resolved, or a newer alert of its kind is open.",
    },
}


@router.post("/alerts/{alert_id}/reopen", response_model=AlertOut, responses=_REOPEN_ERRORS)
async def reopen(
    alert_id: AlertId, body: ReopenRequest, user: StaffUser, session: Session, request: Request
) -> AlertOut:
    """Open a resolved alert again, with why; escalation starts over."""
    return await service.reopen(
        session, request.app.state.redis, user=user, alert_id=alert_id, note=body.note
    )
