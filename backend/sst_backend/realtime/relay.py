"""Relays of the platform's streams to the browsers, through the live feed.

Each relay follows one stream in the backends' consumer group (one instance takes each
entry), makes each entry the event it stands for and publishes a batch in one transaction
(a burst, hubs going offline together, must not make the fall behind it wait for a commit
per entry). A malformed entry is logged and skipped; the others of its batch go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
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

_M = TypeVar("_M")
# What a stream entry that cannot be read raises while it is decoded.
MALFORMED = (KeyError, ValueError, ValidationError)


async def relay_stream(
    feed: LiveFeed,
    redis: Redis,
    stop: asyncio.Event,
    *,
    stream: str,
    label: str,
    decode: Callable[[dict[bytes, bytes]], _M],
    to_event: Callable[[_M, str], Awaitable[NewEvent | None]],
    new_group_at_end: bool = True,
) -> None:
    """Publish every entry of `stream` as the event `to_event` makes of it (None: none).

    `label` names the stream in logs and in the sst_live_relayed_total metric; the entry
    id (`to_event`'s second argument) is the event's source, so a redelivered entry keeps
    its event id.
    """

    async def handle(entries: list[Entry]) -> None:
        items = []
        for entry_id, fields in entries:
            name = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            try:
                message = decode(fields)
            except MALFORMED as exc:
                log.error("skipping malformed %s entry %r: %s", label, name, exc)
                continue
            item = await to_event(message, name)
            if item is not None:
                items.append(item)
        await feed.publish_many(items)
        LIVE_RELAYED.labels(label).inc(len(items))

    await follow_stream(
        redis,
        stream=stream,
        group=BACKEND_GROUP,
        handler=handle,
        stop=stop,
        new_group_at_end=new_group_at_end,
    )


def alert_target(alert: AlertMessage) -> Target:
    """Alerts go to everyone following the resident, guardians included."""
    return Target(alert.facility_id, alert.resident_id, None, Audience.ALL)


async def relay_alerts(feed: LiveFeed, redis: Redis, stop: asyncio.Event) -> None:
    """Publish every alerts-stream entry once (one instance of the group takes each)."""

    async def to_event(alert: AlertMessage, entry_id: str) -> NewEvent:
        return NewEvent(
            ALERT_EVENT, alert.to_event(), alert_target(alert), source=f"alerts:{entry_id}"
        )

    # The group may exist from before the live feed (created at 0 by the first relay).
    await relay_stream(
        feed,
        redis,
        stop,
        stream=ALERTS_STREAM,
        label="alerts",
        decode=AlertMessage.from_stream,
        to_event=to_event,
        new_group_at_end=False,
    )
