"""Routine risk scores as inference computed them, one row per resident per scoring round."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base


class RiskScore(Base):
    """A resident's 0-100 routine risk at one moment, with the model's words for it.

    Written by inference each scoring round; rows older than its retention are pruned by
    inference too. The dashboard reads the newest one and the trend of the last hours.
    """

    __tablename__ = "risk_scores"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        Index("ix_risk_scores_resident_id_at", "resident_id", text("at DESC")),
        Index("ix_risk_scores_at", "at"),  # the retention's delete
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    score: Mapped[int] = mapped_column(SmallInteger)
    explanation: Mapped[str] = mapped_column(Text)
    # The explanation as a message key with raw params (sst_core.texts.Text); None on
    # rows written before structured texts.
    text: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The version of the routine model that scored (the resident's own or the prior).
    model_version: Mapped[int | None] = mapped_column(Integer)
