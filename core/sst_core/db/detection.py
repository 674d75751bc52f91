"""Where the windowed rules are for each resident (ai_inference/detector.py): due times
and the hysteresis state of each rule, so any inference process can take over a resident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base


class DetectionSchedule(Base):
    """When a resident's windowed rules are next due, and up to when they were evaluated.

    A process takes a due row with FOR UPDATE SKIP LOCKED, so one resident is evaluated by
    one process at a time; `evaluated_until` lets a process that takes over catch up.
    """

    __tablename__ = "detection_schedule"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    evaluated_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DetectionState(Base):
    """One windowed rule of one resident: raised or not, since when, clearing since when."""

    __tablename__ = "detection_state"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(48), primary_key=True)  # an AlertKind
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clear_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    alert_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="SET NULL")
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
