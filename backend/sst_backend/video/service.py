"""Opening and ending video sessions: the access rule, the deadlines, the audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend import audit
from sst_backend.access import may_see_resident
from sst_backend.errors import APIError, not_found
from sst_backend.settings import BackendSettings
from sst_backend.video import repository
from sst_backend.video.repository import Ended
from sst_backend.video.turn import ice_servers
from sst_core.db.models import AuditEntry, Facility, User, VideoSession
from sst_core.domain import VideoBasis, VideoSessionState
from sst_core.video_messages import IceServer, StartVideo

# A resident's home is not a broadcast: a few carers at once at most.
MAX_ACTIVE_PER_RESIDENT = 3
# The TURN credential outlives the session a little, so that a call ending on time is not
# cut by coturn refusing the last refresh.
TURN_GRACE_S = 60


@dataclass(frozen=True, slots=True)
class Opened:
    """A new session, the ICE servers for the viewer, and the start message for the camera."""

    row: VideoSession
    ice_servers: list[IceServer]
    start: StartVideo


def records(
    settings: BackendSettings,
    *,
    basis: VideoBasis,
    facility_records: bool,
    resident_consents: bool,
) -> bool:
    """Whether a new session is recorded: the operator's switch, then the grounds.

    An emergency is recorded where the facility records emergencies or the resident consented
    to recording; a session on consent alone only where the resident consented to recording
    (consent to be looked in on is not consent to be recorded).
    """
    if not settings.video_recording:
        return False
    if basis is VideoBasis.ALERT:
        return facility_records or resident_consents
    return resident_consents


async def request_session(
    session: AsyncSession, *, settings: BackendSettings, user: User, resident_id: int
) -> Opened:
    """Check who may watch whom, then open a session (committed by the caller)."""
    resident = await repository.resident(session, resident_id)
    if resident is None or not await may_see_resident(session, user=user, resident_id=resident_id):
        raise not_found("The resident")
    alert = await repository.open_emergency(session, resident_id)
    if alert is None and not resident.video_consent:
        raise APIError(
            409,
            "no_video_basis",
            "Video is only for an open emergency (fall, emergency button, smoke) or with the "
            "resident's recorded consent; this resident has neither now.",
        )
    hub = (
        None if resident.home_id is None else await repository.camera_hub(session, resident.home_id)
    )
    if hub is None:
        raise APIError(409, "no_camera", "The resident's home has no hub with a camera agent.")
    if await repository.active_count(session, resident_id) >= MAX_ACTIVE_PER_RESIDENT:
        raise APIError(
            409, "too_many_sessions", "Enough carers are already looking in; join them later."
        )
    basis = VideoBasis.ALERT if alert is not None else VideoBasis.CONSENT
    facility = await session.get(Facility, resident.facility_id)
    recorded = records(
        settings,
        basis=basis,
        facility_records=facility is not None and facility.video_recording,
        resident_consents=resident.video_recording_consent,
    )
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=settings.video_max_s)
    row = VideoSession(
        id=uuid.uuid4().hex,
        resident_id=resident_id,
        hub_id=hub.id,
        hub_serial=hub.serial,
        requested_by=user.id,
        basis=basis.value,
        alert_id=alert.id if alert is not None else None,
        state=VideoSessionState.REQUESTED.value,
        requested_at=now,
        connect_by=now + timedelta(seconds=settings.video_connect_timeout_s),
        expires_at=expires_at,
        recorded=recorded,
    )
    session.add(row)
    audit.record(
        session,
        actor=user,
        action="video.requested",
        target_type="resident",
        target_id=resident_id,
        details={
            "session": row.id,
            "basis": row.basis,
            "alert_id": row.alert_id,
            "hub": hub.serial,
            "recorded": recorded,
        },
    )
    await session.flush()
    servers = ice_servers(
        settings,
        session_id=row.id,
        expires_at_s=int(expires_at.timestamp()) + TURN_GRACE_S,
    )
    start = StartVideo(
        session=row.id,
        ice_servers=servers,
        relay_only=settings.video_relay_only,
        expires_at=int(expires_at.timestamp() * 1000),
    )
    return Opened(row=row, ice_servers=servers, start=start)


def record_end(session: AsyncSession, ended: Ended) -> None:
    """Audit a session's end: who watched, on what grounds, from when, for how long."""
    connected_s = (
        None
        if ended.connected_at is None
        else round((ended.ended_at - ended.connected_at).total_seconds(), 3)
    )
    session.add(
        AuditEntry(
            actor_id=ended.ended_by,
            action="video.ended",
            target_type="resident",
            target_id=str(ended.resident_id),
            details={
                "session": ended.id,
                "requested_by": ended.requested_by,
                "basis": ended.basis,
                "reason": ended.reason,
                "ended_by": ended.ended_by,
                "requested_at": ended.requested_at.isoformat(),
                "connected_at": ended.connected_at.isoformat() if ended.connected_at else None,
                "ended_at": ended.ended_at.isoformat(),
                "duration_s": round((ended.ended_at - ended.requested_at).total_seconds(), 3),
                "watched_s": connected_s,
            },
        )
    )
