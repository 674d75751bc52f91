"""A resident's rule checks, from what inference stored with each rule's state."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.escalation.service import require_resident
from sst_backend.rule_checks import repository
from sst_backend.rule_checks.schemas import RuleCheckOut, RuleChecksOut
from sst_core.db.models import DetectionState, User
from sst_core.rule_checks import RuleCheck, stored_check
from sst_core.texts import TextError, english
from sst_core.thresholds import RuleName


def check_out(rule: RuleName, state: DetectionState | None) -> RuleCheckOut:
    """One rule's check as the dashboard reads it (verdict null: not judged yet)."""
    check = stored_check(state.details) if state is not None else None
    return stated_check(rule, check, state.alert_id if state is not None else None)


def stated_check(rule: RuleName, check: RuleCheck | None, alert_id: int | None) -> RuleCheckOut:
    """A check in the endpoint's words (and the live `rule_check` event's): English reason."""
    if check is None:
        return RuleCheckOut(
            rule=rule, verdict=None, reason=None, reason_text=None, decided_at=None, alert_id=None
        )
    reason = None
    if check.reason is not None:
        try:
            reason = english(check.reason)
        except TextError:  # a key only a newer inference knows: the page may still render it
            reason = None
    return RuleCheckOut(
        rule=rule,
        verdict=check.verdict,
        reason=reason,
        reason_text=check.reason,
        decided_at=check.decided_at,
        alert_id=alert_id if check.verdict == "alert" else None,
    )


async def resident_rule_checks(
    session: AsyncSession, *, user: User, resident_id: int
) -> RuleChecksOut:
    """Every windowed rule's latest verdict for the resident (404 if not visible)."""
    await require_resident(session, user=user, resident_id=resident_id)
    stored = {row.kind: row for row in await repository.states(session, resident_id=resident_id)}
    return RuleChecksOut(
        resident_id=resident_id,
        checked_at=await repository.evaluated_until(session, resident_id=resident_id),
        checks=[check_out(rule, stored.get(rule.value)) for rule in RuleName],
    )
