"""Queries of video recordings: the row of each, the list, and what retention takes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import VideoRecording, VideoSession
from sst_core.domain import RecordingState


async def start(
    session: AsyncSession, *, session_id: str, resident_id: int, delete_after: datetime
) -> VideoRecording:
    """A new recording row in state `recording`."""
    row = VideoRecording(
        session_id=session_id,
        resident_id=resident_id,
        state=RecordingState.RECORDING.value,
        delete_after=delete_after,
    )
    session.add(row)
    await session.flush()
    return row


async def stored(
    session: AsyncSession,
    recording_id: int,
    *,
    key: str,
    content_type: str,
    size_bytes: int,
    duration_s: float,
    frames: int,
) -> bool:
    """Mark a recording stored (once); False if its row is gone (the resident was erased)."""
    result = await session.execute(
        update(VideoRecording)
        .where(
            VideoRecording.id == recording_id,
            VideoRecording.state == RecordingState.RECORDING.value,
        )
        .values(
            state=RecordingState.STORED.value,
            object_key=key,
            content_type=content_type,
            size_bytes=size_bytes,
            duration_s=duration_s,
            frames=frames,
            stored_at=func.now(),
        )
        .returning(VideoRecording.id)
    )
    return result.first() is not None


async def failed(session: AsyncSession, recording_id: int, *, error: str) -> bool:
    """Mark a recording failed, with why; False if it was not being recorded."""
    result = await session.execute(
        update(VideoRecording)
        .where(
            VideoRecording.id == recording_id,
            VideoRecording.state == RecordingState.RECORDING.value,
        )
        .values(state=RecordingState.FAILED.value, error=error[:300])
        .returning(VideoRecording.id)
    )
    return result.first() is not None


async def session_state(session: AsyncSession, session_id: str) -> str | None:
    """The video session's state, None if its row is gone."""
    return await session.scalar(select(VideoSession.state).where(VideoSession.id == session_id))


async def of_resident(session: AsyncSession, resident_id: int, limit: int) -> list[VideoRecording]:
    """The resident's recordings, most recent first."""
    query = (
        select(VideoRecording)
        .where(VideoRecording.resident_id == resident_id)
        .order_by(VideoRecording.started_at.desc(), VideoRecording.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def get(session: AsyncSession, resident_id: int, recording_id: int) -> VideoRecording | None:
    """One recording of the resident."""
    row = await session.get(VideoRecording, recording_id)
    return row if row is not None and row.resident_id == resident_id else None


async def expired(session: AsyncSession, *, limit: int) -> list[VideoRecording]:
    """Recordings past their retention, locked (SKIP LOCKED: one backend deletes each)."""
    query = (
        select(VideoRecording)
        .where(VideoRecording.delete_after < func.now())
        .order_by(VideoRecording.delete_after)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def remove(session: AsyncSession, recording_id: int) -> None:
    """Delete a recording's row."""
    await session.execute(delete(VideoRecording).where(VideoRecording.id == recording_id))


async def abandon_lost(session: AsyncSession, *, older_than: timedelta) -> list[VideoRecording]:
    """Recordings still `recording` long after any session could have ended: failed."""
    result = await session.scalars(
        update(VideoRecording)
        .where(
            VideoRecording.state == RecordingState.RECORDING.value,
            VideoRecording.started_at < func.now() - older_than,
        )
        .values(state=RecordingState.FAILED.value, error="the recorder was lost")
        .returning(VideoRecording)
    )
    return list(result.all())
