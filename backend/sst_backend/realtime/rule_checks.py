"""A windowed rule's check of a resident that changed, from inference's stream to the feed."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from sst_backend.realtime.events import RULE_CHECK_EVENT, Audience, Target
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.log import NewEvent
from sst_backend.realtime.relay import relay_stream
from sst_backend.rule_checks.service import stated_check
from sst_core.const import RULE_CHECKS_STREAM
from sst_core.rule_checks import RuleCheckMessage


def check_event(message: RuleCheckMessage, entry_id: str) -> NewEvent:
    """The `rule_check` event of one stream entry: the endpoint's check of that rule.

    It goes to everyone who may read the resident's rule checks (GET .../rule-checks lets
    the resident's guardians read them too); a newer check of the same rule supersedes it
    in a catch-up.
    """
    check = stated_check(message.rule, message.check, message.alert_id)
    payload = {
        "resident_id": message.resident_id,
        **check.model_dump(mode="json"),
        "checked_at": message.checked_at.isoformat(),
    }
    return NewEvent(
        RULE_CHECK_EVENT,
        payload,
        Target(message.facility_id, message.resident_id, None, Audience.ALL),
        coalesce_key=f"rule_check:{message.resident_id}:{message.rule.value}",
        source=f"rule_checks:{entry_id}",
    )


async def relay_rule_checks(feed: LiveFeed, redis: Redis, stop: asyncio.Event) -> None:
    """Publish every rule-checks entry once, in stream order (one instance takes each)."""

    async def to_event(message: RuleCheckMessage, entry_id: str) -> NewEvent:
        return check_event(message, entry_id)

    await relay_stream(
        feed,
        redis,
        stop,
        stream=RULE_CHECKS_STREAM,
        label="rule_checks",
        decode=RuleCheckMessage.from_stream,
        to_event=to_event,
    )
