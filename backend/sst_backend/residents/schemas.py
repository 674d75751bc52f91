"""Bodies of the resident endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, Field, model_validator

from sst_backend.fields import Body, Id, Label, PatchBody, PersonName, TimeZoneName


class AlertCounts(BaseModel):
    """Open (unresolved) alerts of a resident by severity."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0


class ResidentOut(BaseModel):
    """A resident as the dashboard lists them."""

    id: int
    full_name: str
    facility_id: int
    home_id: int | None
    timezone: str | None = Field(description="IANA time zone of the resident's home.")
    open_alerts: AlertCounts


class NewHome(Body):
    """A home created together with its resident."""

    label: Label = Field(examples=["Flat 3B, 12 Mapo-daero"])
    timezone: TimeZoneName


def _plausible_birth(value: date | None) -> date | None:
    if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
        raise ValueError("date_of_birth must be between 1900-01-01 and today")
    return value


BirthDate = Annotated[date, AfterValidator(_plausible_birth)]


class ResidentCreate(Body):
    """A resident to watch over: in an existing home (home_id) or a new one (home)."""

    full_name: PersonName = Field(examples=["Kim Young-ja"])
    date_of_birth: BirthDate | None = None
    video_consent: bool = Field(
        default=False, description="The resident agreed to emergency video from their home."
    )
    video_recording_consent: bool = Field(
        default=False, description="The resident agreed to their video sessions being recorded."
    )
    home_id: Id | None = None
    home: NewHome | None = None

    @model_validator(mode="after")
    def _one_home(self) -> ResidentCreate:
        if self.home_id is not None and self.home is not None:
            raise ValueError("give home_id or home, not both")
        return self


class ResidentUpdate(PatchBody):
    """Changes to a resident's profile, home (null: moved out) and consent."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"date_of_birth", "home_id"})

    full_name: PersonName | None = None
    date_of_birth: BirthDate | None = None
    video_consent: bool | None = None
    video_recording_consent: bool | None = None
    home_id: Id | None = None


class ResidentDetail(BaseModel):
    """A resident's profile, home and consent flags."""

    id: int
    facility_id: int
    full_name: str
    date_of_birth: date | None
    video_consent: bool
    video_recording_consent: bool
    home_id: int | None
    home_label: str | None
    timezone: str | None = Field(description="IANA time zone of the resident's home.")
    created_at: datetime
