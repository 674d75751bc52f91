"""What the rule-checks endpoint answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sst_core.rule_checks import CheckVerdict
from sst_core.texts import Text
from sst_core.thresholds import RuleName


class RuleCheckOut(BaseModel):
    """One windowed rule's latest verdict for the resident."""

    rule: RuleName
    verdict: CheckVerdict | None = Field(
        description="fine, alert (the rule's alert is raised) or unknown (the rule cannot "
        "tell, see reason); null: not judged yet."
    )
    reason: str | None = Field(
        description="Why the rule cannot tell, in English; null for fine and alert."
    )
    reason_text: Text | None = Field(
        default=None,
        description="The reason as a message key with raw parameters (unknown.*), for the "
        "reader's language; null: no reason.",
    )
    decided_at: datetime | None = Field(
        description="When the rule first gave this verdict with this reason (null: never)."
    )
    alert_id: int | None = Field(description="The rule's raised alert, when the verdict is alert.")


class RuleChecksOut(BaseModel):
    """Every windowed rule's latest verdict for one resident."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resident_id": 12,
                    "checked_at": "2026-03-02T00:31:00Z",
                    "checks": [
                        {
                            "rule": "no_wake_up",
                            "verdict": "unknown",
                            "reason": "hub not known to be online",
                            "reason_text": {"key": "unknown.hub_offline", "params": {}},
                            "decided_at": "2026-03-01T23:40:00Z",
                            "alert_id": None,
                        },
                        {
                            "rule": "inactivity",
                            "verdict": "fine",
                            "reason": None,
                            "reason_text": None,
                            "decided_at": "2026-03-01T21:05:00Z",
                            "alert_id": None,
                        },
                    ],
                }
            ]
        }
    )

    resident_id: int
    checked_at: datetime | None = Field(
        description="When the rules last judged this resident (null: never)."
    )
    checks: list[RuleCheckOut] = Field(description="One per windowed rule, in a fixed order.")
