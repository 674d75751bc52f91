"""The report an erasure request returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ErasureReport(BaseModel):
    """What erasing a resident removed, anonymised and kept."""

    resident_id: int
    erased_at: datetime
    deleted: dict[str, int] = Field(
        description="Rows deleted per table.",
        examples=[{"readings": 412803, "alerts": 3, "alert_events": 7, "residents": 1}],
    )
    anonymised: dict[str, int] = Field(
        description="Rows kept but unlinked (table.column set to null), per column."
    )
    kept: dict[str, str] = Field(description="What was deliberately kept, and why.")
