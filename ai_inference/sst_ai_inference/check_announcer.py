"""Announcing the windowed rules' checks, after the commit that stored them.

The row in `detection_state` is the truth; the rule-checks stream only tells the backend
(and through it the open resident pages) that a check changed. Each announcement sets a
marker per (resident, rule) naming the check it announced (announcing.py), and every
evaluation offers all of a resident's current checks: those the marker already names are
left out, so a quiet home sends nothing, and a check whose announcement was lost (a crash
or Redis away after the commit) is announced by the next evaluation of that resident, by
this process or any other after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sst_ai_inference.announcing import Marked, announce_marked, markers
from sst_core.const import RULE_CHECKS_STREAM
from sst_core.rule_checks import RuleCheckMessage
from sst_core.thresholds import RuleName

log = logging.getLogger("sst.inference.windowed")


def announced_key(resident_id: int, rule: RuleName) -> str:
    """Redis key naming the check of (resident, rule) last put on the rule-checks stream."""
    return f"sst:rule_checks:announced:{resident_id}:{rule.value}"


def _marker(message: RuleCheckMessage) -> bytes:
    # The check with its alert: what a page shows. `checked_at` is left out, or every
    # evaluation would look new.
    return message.model_dump_json(include={"check", "alert_id"}).encode()


async def announce_checks(
    redis: Redis, checks: Sequence[RuleCheckMessage], *, changed: Collection[RuleName]
) -> list[RuleCheckMessage]:
    """Announce a resident's current checks the stream has not said yet, at once; those announced.

    `changed`: the rules whose check this evaluation changed; any other announced is a repair.
    Nothing is announced if Redis fails (the next evaluation tries again).
    """
    if not checks:
        return []
    keys = [announced_key(c.resident_id, c.rule) for c in checks]
    try:
        said = await markers(redis, keys, renew=True)
        due = [(c, k) for c, k, m in zip(checks, keys, said, strict=True) if m != _marker(c)]
        await announce_marked(
            redis, RULE_CHECKS_STREAM, [Marked(c.to_stream(), k, _marker(c)) for c, k in due]
        )
    except (RedisError, OSError) as exc:
        # The alerts of the same evaluation went first (and are repaired if lost).
        log.warning(
            "rule checks of resident %s not announced: %r",
            checks[0].resident_id,
            exc,
            extra={"resident_id": checks[0].resident_id},
        )
        return []
    repaired = [c.rule.value for c, _ in due if c.rule not in changed]
    if repaired:  # one line per resident (after an upgrade: every resident once)
        log.warning(
            "rule checks %s of resident %s were stored but never announced; announcing",
            ", ".join(repaired),
            checks[0].resident_id,
            extra={"resident_id": checks[0].resident_id},
        )
    return [c for c, _ in due]
