"""Registered versions of routine models (artifacts live in object storage)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base

MODEL_STATES = ("candidate", "promoted", "retired")


class RoutineModelVersion(Base):
    """One trained model of a resident (resident_id None: the population prior).

    At most one version per resident is `promoted` (a partial unique index); inference
    scores with it. `retired` ones stay for the record and for `sst-train rollback`.
    """

    __tablename__ = "routine_models"
    __table_args__ = (
        CheckConstraint("state IN ('candidate', 'promoted', 'retired')", name="state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    feature_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    artifact_key: Mapped[str] = mapped_column(Text)
    data_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    days: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB)
    library_versions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
