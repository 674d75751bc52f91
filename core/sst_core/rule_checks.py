"""What a windowed rule last decided about a resident, as inference keeps it for the dashboard.

Inference writes it into `detection_state.details` (key `check`) with the rule's hysteresis
state; the backend reads it back for GET /residents/{id}/rule-checks. A morning the rules
could not judge (no data, a hub away) is then told apart from a morning where all was well.
A check that changed is also announced on the rule-checks stream (`RuleCheckMessage`), which
the backend relays to the open resident pages as the `rule_check` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sst_core.messages import StreamFields
from sst_core.texts import Text
from sst_core.thresholds import RuleName

CheckVerdict = Literal["fine", "alert", "unknown"]
DETAILS_KEY = "check"


class RuleCheck(BaseModel):
    """A rule's latest verdict for one resident, why, and since when it says so."""

    model_config = ConfigDict(frozen=True)

    verdict: CheckVerdict = Field(
        description="fine: nothing to report; alert: the rule's alert is raised; unknown: the "
        "rule cannot tell (see reason)."
    )
    reason: Text | None = Field(
        default=None,
        description="Why the rule cannot tell, as a server text (unknown.*); null for fine "
        "and alert.",
    )
    decided_at: datetime = Field(
        description="The instant the rule first gave this verdict with this reason (UTC)."
    )


def stored_check(details: object) -> RuleCheck | None:
    """The check kept in a detection_state row's details; None when absent (older rows)."""
    if not isinstance(details, dict) or details.get(DETAILS_KEY) is None:
        return None
    try:
        return RuleCheck.model_validate(details[DETAILS_KEY])
    except ValidationError:
        return None


def check_details(check: RuleCheck | None) -> dict[str, Any]:
    """The check as it goes into detection_state.details (JSON-ready)."""
    return {DETAILS_KEY: None if check is None else check.model_dump(mode="json")}


class RuleCheckMessage(BaseModel):
    """A rule's check of a resident that changed, as inference announces it after the commit."""

    model_config = ConfigDict(frozen=True)

    resident_id: int
    facility_id: int
    rule: RuleName
    check: RuleCheck
    alert_id: int | None = Field(default=None, description="The raised alert, for an alert.")
    checked_at: datetime = Field(description="The evaluation that gave the check (UTC).")

    def to_stream(self) -> StreamFields:
        """Fields of one rule-checks stream entry."""
        return {"check": self.model_dump_json().encode()}

    @classmethod
    def from_stream(cls, fields: Mapping[Any, Any]) -> RuleCheckMessage:
        """Inverse of `to_stream`."""
        return cls.model_validate_json(fields[b"check"])
