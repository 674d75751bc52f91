"""Bodies of the per-resident rule threshold endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sst_backend.fields import Body
from sst_core.thresholds import RuleName


class ParamRange(BaseModel):
    """What a parameter may be set to."""

    type: str = Field(examples=["number"])
    minimum: float
    maximum: float
    default: float


class ThresholdOut(BaseModel):
    """A rule's parameters for one resident: defaults, their overrides, and the result."""

    rule: RuleName
    description: str
    parameters: dict[str, ParamRange]
    overrides: dict[str, float] = Field(description="What was set for this resident.")
    effective: dict[str, float] = Field(description="What inference applies.")
    updated_at: datetime | None


class ThresholdUpdate(Body):
    """New values for some of a rule's parameters (the others keep their defaults)."""

    params: dict[str, float] = Field(
        max_length=10, examples=[{"max_minutes": 30}], description="Parameter name -> value."
    )
