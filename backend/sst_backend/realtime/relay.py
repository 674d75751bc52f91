"""Relays the alerts stream to the browsers following each resident, through the live feed."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from sst_backend.metrics import LIVE_RELAYED
from sst_backend.realtime.events import Audience, Target
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.log import NewEvent
from sst_backend.realtime.streams import follow_stream
from sst_core.const import ALERT_EVENT, ALERTS_STREAM, BACKEND_GROUP
from sst_core.messages import AlertMessage
from sst_core.streams import Entry

log = logging.getLogger("sst.backend.relay")


def alert_target(alert: AlertMessage) -> Target:
    """Alerts go to everyone following the resident, guardians included."""
    return Target(alert.facility_id, alert.resident_id, None, Audience.ALL)


async def relay_alerts(feed: LiveFeed, redis: Redis, stop: asyncio.Event) -> None:
    """Publish every alerts-stream entry once (one instance of the group takes each)."""

    async def handle(entries: list[Entry]) -> None:
        items = []
        for entry_id, fields in entries:
            try:
                alert = AlertMessage.from_stream(fields)
            except (KeyError, ValueError) as exc:
                log.error("skipping malformed alerts entry %r: %s", entry_id, exc)
                continue
            source = f"alerts:{entry_id.decode() if isinstance(entry_id, bytes) else entry_id}"
            items.append(
                NewEvent(ALERT_EVENT, alert.to_event(), alert_target(alert), source=source)
            )
        # One transaction for the batch: a burst (hubs going offline together) must not make
        # the fall behind it wait for a commit per alert.
        await feed.publish_many(items)
        LIVE_RELAYED.labels("alerts").inc(len(items))

    # The group may exist from before the live feed (created at 0 by the first relay).
    await follow_stream(
        redis,
        stream=ALERTS_STREAM,
        group=BACKEND_GROUP,
        handler=handle,
        stop=stop,
        new_group_at_end=False,
    )
