"""Body of the daily-summary endpoint."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from sst_core.texts import Text


class SummaryAlert(BaseModel):
    """An alert opened that day."""

    title: str
    severity: str
    state: str
    title_text: Text | None = Field(
        default=None, description="The title as a message key with raw parameters."
    )


class DailySummaryOut(BaseModel):
    """How a resident's day went, in figures and in plain words."""

    resident_id: int
    date: date
    timezone: str
    until: datetime = Field(description="End of the day, or now for today.")
    complete: bool
    sleep_hours: float | None = Field(description="Hours in bed between 20:00 and 10:00.")
    times_up_at_night: int
    got_up_at: str | None = Field(description="Local time of getting up for the day.")
    kitchen_visits: int
    kitchen_motion: int
    active_hours: int = Field(description="Hours of the local day with any movement.")
    door_pairs: int = Field(description="Front door opened and closed.")
    outings: int
    time_out_minutes: int
    alerts: list[SummaryAlert]
    opening: str = Field(
        description="The summary's first line, as the daily e-mail begins: whose day, which "
        "day, until when.",
        examples=["How Kim Young-ja's day went, Sunday 8 Mar:"],
    )
    opening_text: Text = Field(description="The opening line as a message key with raw params.")
    lines: list[str] = Field(description="The summary in plain sentences.")
    lines_text: list[Text] = Field(
        description="The same sentences as message keys with raw parameters, one per line, "
        "for showing them in the reader's language."
    )
    text: str
