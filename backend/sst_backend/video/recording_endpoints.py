"""The recordings of a resident's emergency video sessions: the list, and one file.

The same people who may look into the home may see what was recorded: members of staff
who see the resident (an assigned carer, or the facility's charge nurse). Admins and
guardians may not. Every download is audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from sst_backend import audit
from sst_backend.access import may_see_resident
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError, ErrorResponse, not_found
from sst_backend.video import recordings_repository as repository
from sst_backend.video.endpoints import Carer, ResidentId
from sst_backend.video.schemas import VideoRecordingOut
from sst_core.db.models import VideoRecording
from sst_core.domain import RecordingState
from sst_core.objects import open_store

router = APIRouter(tags=["video"])

RecordingId = Annotated[int, Path(ge=1, le=2**62, description="Recording id.")]
_ROLE: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Only members of staff see recordings."}
}
_FILE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    **_ROLE,
    409: {"model": ErrorResponse, "description": "Not stored (still recording, or failed)."},
    503: {"model": ErrorResponse, "description": "Object storage is unavailable."},
}


def _out(row: VideoRecording) -> VideoRecordingOut:
    return VideoRecordingOut.model_validate(row, from_attributes=True)


@router.get(
    "/residents/{resident_id}/video-recordings",
    response_model=list[VideoRecordingOut],
    responses={**ERROR_RESPONSES, **_ROLE},
)
async def list_video_recordings(
    resident_id: ResidentId,
    user: Carer,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[VideoRecordingOut]:
    """The recordings of the resident's video sessions, most recent first."""
    if not await may_see_resident(session, user=user, resident_id=resident_id):
        raise not_found("The resident")
    return [_out(row) for row in await repository.of_resident(session, resident_id, limit)]


@router.get(
    "/residents/{resident_id}/video-recordings/{recording_id}",
    response_class=StreamingResponse,
    responses={
        **_FILE_ERRORS,
        200: {"content": {"video/mp4": {}}, "description": "The recording (MP4, H.264)."},
    },
)
async def download_video_recording(
    request: Request,
    resident_id: ResidentId,
    recording_id: RecordingId,
    user: Carer,
    session: Session,
) -> StreamingResponse:
    """The recording's file (MP4); the download is written to the audit log."""
    if not await may_see_resident(session, user=user, resident_id=resident_id):
        raise not_found("The resident")
    row = await repository.get(session, resident_id, recording_id)
    if row is None:
        raise not_found("The recording")
    if row.state != RecordingState.STORED.value or row.object_key is None:
        raise APIError(409, "not_stored", f"This recording is {row.state}, not stored.")
    store = open_store(request.app.state.settings)
    try:
        chunks: Iterator[bytes] = await asyncio.to_thread(store.chunks, row.object_key)
    except KeyError as exc:
        raise not_found("The recording's file") from exc
    except Exception as exc:  # boto3's own errors: the store is away
        raise APIError(
            503, "object_store_unavailable", "The recording cannot be read now; try again."
        ) from exc
    audit.record(
        session,
        actor=user,
        action="video.recording_downloaded",
        target_type="resident",
        target_id=resident_id,
        details={"recording": row.id, "session": row.session_id, "key": row.object_key},
    )
    # No Content-Length from the row: the bytes served are the store's, whatever it holds.
    headers = {"Content-Disposition": f'attachment; filename="{row.session_id}.mp4"'}
    return StreamingResponse(chunks, media_type=row.content_type or "video/mp4", headers=headers)
