"""Reading and setting a resident's rule thresholds, checked against each rule's ranges."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.access import may_see_resident
from sst_backend.audit import record
from sst_backend.care_access import require_admin
from sst_backend.errors import APIError, not_found
from sst_backend.residents.repository import get_in_facility
from sst_backend.thresholds import repository
from sst_backend.thresholds.schemas import ParamRange, ThresholdOut
from sst_core.db.models import RuleThreshold, User
from sst_core.thresholds import (
    RULE_PARAMS,
    InvalidThreshold,
    RuleName,
    describe,
    effective_params,
    validate_params,
)


def _ranges(rule: RuleName) -> dict[str, ParamRange]:
    properties: dict[str, Any] = RULE_PARAMS[rule].model_json_schema()["properties"]
    return {
        name: ParamRange(
            type=spec.get("type", "number"),
            minimum=spec["minimum"],
            maximum=spec["maximum"],
            default=spec["default"],
        )
        for name, spec in properties.items()
    }


def threshold_out(rule: RuleName, stored: RuleThreshold | None) -> ThresholdOut:
    """A rule's parameters for a resident."""
    overrides = dict(stored.params) if stored else {}
    return ThresholdOut(
        rule=rule,
        description=describe(rule),
        parameters=_ranges(rule),
        # A stored value that is not a number (written by hand, or by an older version) is
        # not shown as an override; inference ignores it too (effective_params logs it).
        overrides={
            k: v
            for k, v in overrides.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        },
        effective=effective_params(
            rule, overrides, resident_id=stored.resident_id if stored else None
        ),
        updated_at=stored.updated_at if stored else None,
    )


async def list_thresholds(
    session: AsyncSession, *, user: User, resident_id: int
) -> list[ThresholdOut]:
    """Every tunable rule with this resident's values."""
    if not await may_see_resident(session, user=user, resident_id=resident_id):
        raise not_found("The resident")
    stored = {t.rule: t for t in await repository.of_resident(session, resident_id=resident_id)}
    return [threshold_out(rule, stored.get(rule.value)) for rule in RuleName]


async def _resident_to_change(session: AsyncSession, *, user: User, resident_id: int) -> None:
    require_admin(user, doing="change a resident's thresholds")
    resident = await get_in_facility(
        session, facility_id=user.facility_id, resident_id=resident_id, lock=True
    )
    if resident is None:
        raise not_found("The resident")


async def set_threshold(
    session: AsyncSession,
    *,
    user: User,
    resident_id: int,
    rule: RuleName,
    params: dict[str, float],
) -> ThresholdOut:
    """Store a resident's own values for some of a rule's parameters."""
    await _resident_to_change(session, user=user, resident_id=resident_id)
    try:
        checked = validate_params(rule, params)
    except InvalidThreshold as exc:
        first = exc.problems[0]
        raise APIError(
            422,
            "invalid_threshold",
            f"Invalid {rule.value} parameters: {first['where']}: {first['problem']}.",
            exc.problems,
        ) from exc
    stored = await repository.upsert(
        session, resident_id=resident_id, rule=rule.value, params=checked, actor_id=user.id
    )
    record(
        session,
        actor=user,
        action="threshold.set",
        target_type="resident",
        target_id=resident_id,
        details={"rule": rule.value, "params": checked},
    )
    return threshold_out(rule, stored)


async def reset_threshold(
    session: AsyncSession, *, user: User, resident_id: int, rule: RuleName
) -> ThresholdOut:
    """Back to the rule's defaults for this resident."""
    await _resident_to_change(session, user=user, resident_id=resident_id)
    if await repository.remove(session, resident_id=resident_id, rule=rule.value):
        record(
            session,
            actor=user,
            action="threshold.reset",
            target_type="resident",
            target_id=resident_id,
            details={"rule": rule.value},
        )
    return threshold_out(rule, None)
