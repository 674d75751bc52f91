"""A windowed rule's check of a resident that changed, from inference's stream to the feed."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError
from redis.asyncio import Redis

from sst_backend.metrics import LIVE_RELAYED
from sst_backend.realtime.events import RULE_CHECK_EVENT, Audience, Target
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.log import NewEvent
from sst_backend.realtime.streams import follow_stream
from sst_backend.rule_checks.service import stated_check
from sst_core.const import BACKEND_GROUP, RULE_CHECKS_STREAM
from sst_core.rule_checks import RuleCheckMessage
from sst_core.streams import Entry

log = logging.getLogger("sst.backend.rule_checks_feed")


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

    async def handle(entries: list[Entry]) -> None:
        items = []
        for entry_id, fields in entries:
            name = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            try:
                message = RuleCheckMessage.from_stream(fields)
            except (KeyError, ValueError, ValidationError) as exc:
                log.error("skipping malformed rule-checks entry %r: %s", name, exc)
                continue
            items.append(check_event(message, name))
        await feed.publish_many(items)
        LIVE_RELAYED.labels("rule_checks").inc(len(items))

    await follow_stream(
        redis, stream=RULE_CHECKS_STREAM, group=BACKEND_GROUP, handler=handle, stop=stop
    )
