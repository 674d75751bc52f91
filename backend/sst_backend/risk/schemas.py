"""What the risk endpoint answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sst_core.texts import Text

Trend = Literal["up", "down", "flat"]


class RiskPoint(BaseModel):
    """One stored score."""

    at: datetime
    score: int = Field(ge=0, le=100)


class RiskOut(BaseModel):
    """The resident's newest routine risk score and how it moved over the window."""

    resident_id: int
    score: int | None = Field(description="Newest score, 0-100 (None: never scored).")
    at: datetime | None
    explanation: str | None
    explanation_text: Text | None = Field(
        default=None,
        description="The explanation as a message key with raw parameters (each top "
        "deviation its own text), for the reader's language; null: English only.",
    )
    trend: Trend | None = Field(
        description="Newest score against the oldest of the window (None: fewer than two)."
    )
    series: list[RiskPoint] = Field(description="The window's scores, oldest first.")
