"""The live-event log: every event the dashboard feed sends, numbered, for catch-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base


class LiveEvent(Base):
    """One event sent on the live feed; its id is the event id a reconnecting client sends.

    Rows are written in id order (one writer at a time, under an advisory lock), so a
    client that saw id N has seen every committed row up to N that it may see. Rows older
    than the retention period are deleted by the backend.
    """

    __tablename__ = "live_events"
    __table_args__ = (
        CheckConstraint("audience IN ('all', 'staff')", name="audience"),
        Index("ix_live_events_facility_id_id", "facility_id", "id"),
        Index("ix_live_events_resident_id_id", "resident_id", "id"),
        Index("ix_live_events_home_id_id", "home_id", "id"),
        Index("ix_live_events_at", "at"),
        Index("ix_live_events_coalesce_key_id", "coalesce_key", "id"),
        Index("uq_live_events_source", "source", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    event: Mapped[str] = mapped_column(String(32))
    # Who may receive it: everyone following the resident, or care staff only.
    audience: Mapped[str] = mapped_column(String(8))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    home_id: Mapped[int | None] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"))
    # Events with the same key supersede each other on catch-up (latest sensor state).
    coalesce_key: Mapped[str | None] = mapped_column(String(64))
    # Where the event came from (e.g. a stream entry id): a redelivery reuses the row.
    source: Mapped[str | None] = mapped_column(String(96))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
