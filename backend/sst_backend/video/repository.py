"""Queries of emergency video sessions (and of what a request is checked against)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import Alert, Hub, Resident, User, VideoSession
from sst_core.domain import EMERGENCY_ALERT_KINDS, AlertState, VideoBasis, VideoSessionState

ACTIVE = (VideoSessionState.REQUESTED.value, VideoSessionState.CONNECTED.value)


@dataclass(frozen=True, slots=True)
class Ended:
    """A session that has just ended, with what its announcement and audit need."""

    id: str
    resident_id: int
    facility_id: int
    hub_serial: str
    requested_by: int | None
    basis: str
    requested_at: datetime
    connected_at: datetime | None
    ended_at: datetime
    reason: str
    ended_by: int | None


async def resident(session: AsyncSession, resident_id: int) -> Resident | None:
    """The resident, or None."""
    return await session.get(Resident, resident_id)


async def open_emergency(session: AsyncSession, resident_id: int) -> Alert | None:
    """The resident's most recent emergency alert (fall, button, smoke) not yet resolved."""
    query = (
        select(Alert)
        .where(
            Alert.resident_id == resident_id,
            Alert.state != AlertState.RESOLVED.value,
            Alert.kind.in_([k.value for k in EMERGENCY_ALERT_KINDS]),
        )
        .order_by(Alert.opened_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def camera_hub(session: AsyncSession, home_id: int) -> Hub | None:
    """The hub whose camera agent serves the home: an online one first, then the latest seen."""
    query = (
        select(Hub)
        .where(Hub.home_id == home_id, Hub.credentials_revoked_at.is_(None))
        .order_by(Hub.online.desc(), Hub.last_seen_at.desc().nulls_last(), Hub.id)
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def active_count(session: AsyncSession, resident_id: int) -> int:
    """How many sessions of the resident are still running."""
    query = select(func.count()).where(
        VideoSession.resident_id == resident_id, VideoSession.state.in_(ACTIVE)
    )
    return int(await session.scalar(query) or 0)


async def get(session: AsyncSession, session_id: str) -> VideoSession | None:
    """One session by id."""
    return await session.get(VideoSession, session_id)


async def history(
    session: AsyncSession, resident_id: int, limit: int
) -> list[tuple[VideoSession, str | None]]:
    """The resident's sessions, most recent first, each with the name of who asked for it."""
    query = (
        select(VideoSession, User.full_name)
        .outerjoin(User, User.id == VideoSession.requested_by)
        .where(VideoSession.resident_id == resident_id)
        .order_by(VideoSession.requested_at.desc())
        .limit(limit)
    )
    return [(row, name) for row, name in (await session.execute(query)).all()]


async def mark_connected(session: AsyncSession, session_id: str) -> bool:
    """Record that media flows (once); False if the session is not waiting for that."""
    result = await session.execute(
        update(VideoSession)
        .where(
            VideoSession.id == session_id,
            VideoSession.state == VideoSessionState.REQUESTED.value,
        )
        .values(state=VideoSessionState.CONNECTED.value, connected_at=func.now())
        .returning(VideoSession.id)
    )
    return result.first() is not None


async def _end_where(
    session: AsyncSession, where: object, reason: object, ended_by: int | None
) -> list[Ended]:
    ended = (
        update(VideoSession)
        .where(VideoSession.state.in_(ACTIVE), where)  # type: ignore[arg-type]
        .values(
            state=VideoSessionState.ENDED.value,
            ended_at=func.now(),
            end_reason=reason,
            ended_by=ended_by,
        )
        .returning(
            VideoSession.id,
            VideoSession.resident_id,
            VideoSession.hub_serial,
            VideoSession.requested_by,
            VideoSession.basis,
            VideoSession.requested_at,
            VideoSession.connected_at,
            VideoSession.ended_at,
            VideoSession.end_reason,
        )
        .cte("ended")
    )
    query = select(ended, Resident.facility_id).join(Resident, Resident.id == ended.c.resident_id)
    rows = (await session.execute(query)).all()
    return [
        Ended(
            id=r.id,
            resident_id=r.resident_id,
            facility_id=r.facility_id,
            hub_serial=r.hub_serial,
            requested_by=r.requested_by,
            basis=r.basis,
            requested_at=r.requested_at,
            connected_at=r.connected_at,
            ended_at=r.ended_at,
            reason=r.end_reason,
            ended_by=ended_by,
        )
        for r in rows
    ]


async def end(
    session: AsyncSession, session_id: str, *, reason: str, ended_by: int | None
) -> Ended | None:
    """End a running session (once: a second end finds nothing)."""
    rows = await _end_where(session, VideoSession.id == session_id, reason, ended_by)
    return rows[0] if rows else None


async def end_overdue(session: AsyncSession) -> list[Ended]:
    """End every session past its deadline or whose emergency was resolved."""
    resolved = (
        select(Alert.id)
        .where(Alert.id == VideoSession.alert_id, Alert.state == AlertState.RESOLVED.value)
        .exists()
    )
    no_answer = and_(
        VideoSession.state == VideoSessionState.REQUESTED.value,
        VideoSession.connect_by < func.now(),
    )
    alert_over = and_(VideoSession.basis == VideoBasis.ALERT.value, resolved)
    why = case(
        (VideoSession.expires_at < func.now(), "timeout"),
        (no_answer, "no_answer"),
        else_="alert_resolved",
    )
    return await _end_where(
        session, or_(VideoSession.expires_at < func.now(), no_answer, alert_over), why, None
    )
