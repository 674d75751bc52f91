"""Emergency video sessions: who watched whom, on what grounds, from when to when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base
from sst_core.domain import RecordingState, VideoBasis, VideoSessionState, check_in


class VideoSession(Base):
    """One request to look into a resident's home, from the staff request to its end."""

    __tablename__ = "video_sessions"
    __table_args__ = (
        CheckConstraint(check_in("state", VideoSessionState), name="state"),
        CheckConstraint(check_in("basis", VideoBasis), name="basis"),
        # The sweep looks only at sessions still running.
        Index("ix_video_sessions_active", "state", postgresql_where=text("state <> 'ended'")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="SET NULL"))
    hub_serial: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    basis: Mapped[str] = mapped_column(String(16))
    alert_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(16), default=VideoSessionState.REQUESTED.value)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    connect_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(64))
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Decided at the request (docs/video.md, "Recording") and shown to the carer.
    recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class VideoRecording(Base):
    """The recording of one video session: where it is stored, how long, until when."""

    __tablename__ = "video_recordings"
    __table_args__ = (
        CheckConstraint(check_in("state", RecordingState), name="state"),
        Index("ix_video_recordings_resident_id_started_at", "resident_id", text("started_at DESC")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("video_sessions.id", ondelete="CASCADE"), unique=True
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=RecordingState.RECORDING.value)
    object_key: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    frames: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delete_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
