"""Facilities and the people in them: users, residents, guardians, assignments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base
from sst_core.domain import LANGUAGE_CHECK, Role, check_in


class Facility(Base):
    """A care organisation whose staff watch over a set of residents."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The facility records emergency video sessions (where SST_VIDEO_RECORDING allows it).
    video_recording: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    """Someone who logs in: an admin, a member of staff or a guardian."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="role"),
        CheckConstraint(LANGUAGE_CHECK, name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    is_charge_nurse: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Access tokens issued before this moment are refused (logout everywhere, deactivation).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The language of the e-mails, pushes and webhooks this person gets (sst_core.localized).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")


class Resident(Base):
    """An older adult living alone whose home SST watches over."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    home_id: Mapped[int | None] = mapped_column(
        ForeignKey("homes.id", ondelete="SET NULL"), unique=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    video_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Recorded consent to being recorded (any session); see docs/video.md, "Recording".
    video_recording_consent: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GuardianLink(Base):
    """A guardian (a family member's user account) who follows one resident."""

    __tablename__ = "guardian_links"

    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    relation: Mapped[str] = mapped_column(String(64), default="family")


class StaffAssignment(Base):
    """A member of staff responsible for a resident."""

    __tablename__ = "staff_assignments"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
