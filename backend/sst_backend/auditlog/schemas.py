"""Bodies of the audit-log endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    """Who saw or did what, when (entries are append-only)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_email: str | None
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
