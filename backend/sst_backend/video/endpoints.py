"""Asking for emergency video of a resident, and the record of past sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from sst_backend.access import may_see_resident
from sst_backend.announce import after_commit
from sst_backend.auth.dependencies import Callers, StaffUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError, ErrorResponse, not_found
from sst_backend.path_ids import ResidentId
from sst_backend.video import repository, service
from sst_backend.video.runtime import VideoRuntime
from sst_backend.video.schemas import VideoSessionOut, VideoSessionStarted
from sst_core.db.models import User, VideoSession
from sst_core.domain import Role

router = APIRouter(tags=["video"])

# Looking into a home is care work: members of staff (assigned, or the charge nurse), not
# admins, whose role is to run the facility, and not guardians.
CARERS = Callers(Role.STAFF)
Carer = Annotated[User, Depends(CARERS)]
_REQUEST_ERRORS = {
    **ERROR_RESPONSES,
    403: {"model": ErrorResponse, "description": "Only members of staff may ask for video."},
    409: {
        "model": ErrorResponse,
        "description": "No open emergency and no consent (no_video_basis), no hub (no_camera), "
        "or enough sessions already (too_many_sessions).",
    },
    503: {"model": ErrorResponse, "description": "Video (TURN or broker) is not configured."},
}


def _out(row: VideoSession, requested_by_name: str | None = None) -> VideoSessionOut:
    ended = row.ended_at
    return VideoSessionOut(
        id=row.id,
        resident_id=row.resident_id,
        requested_by=row.requested_by,
        requested_by_name=requested_by_name,
        basis=row.basis,
        alert_id=row.alert_id,
        state=row.state,
        requested_at=row.requested_at,
        connect_by=row.connect_by,
        expires_at=row.expires_at,
        connected_at=row.connected_at,
        ended_at=ended,
        end_reason=row.end_reason,
        duration_s=None if ended is None else (ended - row.requested_at).total_seconds(),
        recorded=row.recorded,
    )


@router.post(
    "/residents/{resident_id}/video-sessions",
    response_model=VideoSessionStarted,
    status_code=201,
    responses=_REQUEST_ERRORS,
)
async def request_video(
    request: Request, resident_id: ResidentId, user: Carer, session: Session
) -> VideoSessionStarted:
    """Ask to look into the resident's home: the camera agent starts; signal over Socket.IO."""
    runtime: VideoRuntime | None = getattr(request.app.state, "video", None)
    if runtime is None or not runtime.available:
        raise APIError(503, "video_unavailable", "Video is not configured on this server.")
    opened = await service.request_session(
        session, settings=request.app.state.settings, user=user, resident_id=resident_id
    )

    async def announce() -> None:
        await runtime.opened(opened)

    after_commit(session, announce)
    return VideoSessionStarted(
        **_out(opened.row, user.full_name).model_dump(),
        ice_servers=opened.ice_servers,
        ice_transport_policy="relay" if opened.start.relay_only else "all",
    )


@router.get(
    "/residents/{resident_id}/video-sessions",
    response_model=list[VideoSessionOut],
    responses=ERROR_RESPONSES,
)
async def list_video_sessions(
    resident_id: ResidentId,
    user: StaffUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[VideoSessionOut]:
    """The resident's video sessions, most recent first: who, why, when, how long."""
    if not await may_see_resident(session, user=user, resident_id=resident_id):
        raise not_found("The resident")
    rows = await repository.history(session, resident_id, limit)
    return [_out(row, name) for row, name in rows]
