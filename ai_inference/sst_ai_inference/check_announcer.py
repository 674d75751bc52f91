"""Announcing the windowed rules' changed checks, after the commit that stored them.

The row in `detection_state` is the truth; the rule-checks stream only tells the backend
(and through it the open resident pages) that a check changed. An announcement lost to a
crash or to Redis being away between the commit and here is not made again: the page shows
the stored check at its next load, and the next change is announced as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sst_core.const import RULE_CHECKS_STREAM, STREAM_MAXLEN
from sst_core.rule_checks import RuleCheckMessage

log = logging.getLogger("sst.inference.windowed")


async def announce_checks(redis: Redis, messages: Sequence[RuleCheckMessage]) -> bool:
    """Put a resident's changed checks on the stream, in order, at once; False if Redis failed."""
    if not messages:
        return True
    try:
        async with redis.pipeline(transaction=True) as pipe:
            for message in messages:
                pipe.xadd(
                    RULE_CHECKS_STREAM, message.to_stream(), maxlen=STREAM_MAXLEN, approximate=True
                )
            await pipe.execute()
    except (RedisError, OSError) as exc:
        # The alerts of the same evaluation went first (and are repaired if lost); a check
        # is shown at the page's next load.
        log.warning(
            "rule checks of resident %s not announced: %r",
            messages[0].resident_id,
            exc,
            extra={"resident_id": messages[0].resident_id},
        )
        return False
    return True
