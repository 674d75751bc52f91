"""python-socketio client managers: the replay guard sees each local delivery, and a gap in
Redis pub/sub is healed from the live-event log.

python-socketio's Redis manager delivers an emit to this instance's own sockets at once and
to the other instances through Redis pub/sub. While Redis is away both halves can fail
silently: a publish "gives up" after two tries, and the listener is down until it
resubscribes (its stock back-off grows to a minute). Every live event is in the log
(PostgreSQL) before it is emitted, so the gap is healed from there: when the listener is
subscribed again, or when a publish that failed can be announced again, each instance
replays to its sockets what was logged since the gap began, minus what it delivered live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from redis.asyncio import Redis
from socketio import packet as sio_packet

from sst_backend.realtime.guard import ReplayGuard, event_id_of
from sst_backend.tasks import cancel_all

log = logging.getLogger("sst.backend.realtime")

# The internal emit that tells every instance to heal a gap: never reaches a socket.
HEAL_EVENT = "sst:heal"
# How long the ids delivered live are remembered (a heal skips them).
RECENT_S = 300.0
RECENT_MAX = 100_000
# The listener's back-off while Redis is away (the stock one grows to 60 s).
LISTEN_RETRY_S = (0.25, 2.0)

# heal(since, delivered): replay to this instance's sockets what was logged since the wall
# time `since`, leaving out the event ids for which `delivered(id)` is true.
Healer = Callable[[float, Callable[[int], bool]], Awaitable[None]]


def _skip_list(skip_sid: Any) -> list[Any]:
    if skip_sid is None:
        return []
    return list(skip_sid) if isinstance(skip_sid, list) else [skip_sid]


class DirectFanOut(socketio.AsyncManager):
    """A broadcast encoded once and handed to each recipient's queue in one pass.

    The stock manager makes one asyncio task per recipient and waits for them all; with a
    thousand dashboards in a room that is a thousand tasks to create, schedule and collect
    before the first socket's writer runs (bench/fanout.py measures the difference). Putting
    a packet on an Engine.IO socket's queue does not wait, so one loop does the same work.
    Emits with a callback (one ack id per recipient) keep the stock path.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback
            )
            return
        held = self._held_back(event, data, namespace, room, kwargs)
        if namespace not in self.rooms:
            return
        # A tuple is several arguments, None none, anything else one.
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = set(_skip_list(skip_sid) + held)
        # Taken whole before the first await: a socket closing meanwhile changes the room.
        recipients = [
            eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skip
        ]
        if not recipients:
            return
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        eio = self.server.eio
        for eio_sid in recipients:
            for pkt in packets:
                await eio.send_packet(eio_sid, pkt)

    def _held_back(
        self, event: str, data: Any, namespace: str, room: Any, kwargs: dict[str, Any]
    ) -> list[str]:
        """Sockets a broadcast skips besides `skip_sid`: none here, a subclass may add some."""
        return []


class _GapReporting(socketio.AsyncRedisManager, DirectFanOut):
    """Publishing that does not lose a failure: a give-up is announced once Redis is back."""

    def _init_gaps(self) -> None:
        self._lost_since: float | None = None
        self._announcer: asyncio.Task[None] | None = None

    async def _publish(self, data: Any) -> Any:
        for attempt in (1, 2):
            try:
                # redis-py reconnects by itself; a new pub/sub here would cut the listener.
                if self.redis is None:
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:  # any client error: the stock manager catches all too
                if attempt == 2:
                    log.error("live feed: publish to Redis failed (%r); healing later", exc)
        if self._lost_since is None:
            self._lost_since = time.time()
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.ensure_future(self._announce_gap())
        return None

    async def close(self) -> None:
        """Stop announcing a gap (at shutdown)."""
        if self._announcer is not None:
            await cancel_all({self._announcer})

    async def _announce_gap(self) -> None:
        """Once Redis takes a publish again, tell every instance (this one too) to heal."""
        delay = LISTEN_RETRY_S[0]
        while self._lost_since is not None:
            since = self._lost_since
            message = {
                "method": "emit",
                "event": HEAL_EVENT,
                "data": [{"since": since}],
                "binary": False,
                "namespace": "/",
                "room": HEAL_EVENT,
                "skip_sid": None,
                "callback": None,
                "host_id": None,  # no host skips it, the sender included
            }
            try:
                if self.redis is None:
                    self._redis_connect()
                await self.redis.publish(self.channel, self.json.dumps(message))
            except Exception as exc:
                log.debug("live feed: gap not announced yet (%r)", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, LISTEN_RETRY_S[1])
                continue
            if self._lost_since == since:
                self._lost_since = None
            log.warning("live feed: announced a publish gap since %.3f", since)


class GuardedRedisManager(_GapReporting):
    """python-socketio's Redis manager, with the replay guard, gap healing, and one Redis
    client for life.

    The stock manager makes a new client each time its publisher or listener (re)connects
    and drops the old one unclosed; here the client is made once and closed at shutdown,
    and only the pub/sub subscription is renewed.
    """

    def __init__(self, url: str, *, channel: str, guard: ReplayGuard) -> None:
        super().__init__(url, channel=channel)
        self.guard = guard
        self.healer: Healer | None = None
        self._init_gaps()
        self._recent: OrderedDict[int, float] = OrderedDict()
        self._heal_lock = asyncio.Lock()
        self._heals: set[asyncio.Task[None]] = set()

    def _redis_connect(self) -> None:
        if getattr(self, "redis", None) is None:
            self.redis = Redis.from_url(self.redis_url, **self.redis_options)
        old = getattr(self, "pubsub", None)
        if old is not None:
            closing: set[asyncio.Future[None]] = self.__dict__.setdefault("_closing", set())
            task = asyncio.ensure_future(old.aclose())
            closing.add(task)
            task.add_done_callback(closing.discard)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """The stock listener, with a short back-off and a heal after every gap."""
        delay = LISTEN_RETRY_S[0]
        lost_since: float | None = None
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                delay = LISTEN_RETRY_S[0]
                if lost_since is not None:
                    log.warning("live feed: Redis pub/sub subscribed again; healing the gap")
                    self.heal(lost_since)
                    lost_since = None
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # any client error, as in the stock listener
                if lost_since is None:
                    lost_since = time.time()
                log.error("live feed: Redis pub/sub lost (%r); subscribing in %.2f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, LISTEN_RETRY_S[1])

    # -- deliveries ------------------------------------------------------------------

    def delivered(self, event_id: int) -> bool:
        """Whether this instance sent event `event_id` to its sockets lately."""
        return event_id in self._recent

    def note_delivered(self, event_id: int) -> None:
        recent = self._recent
        now = time.monotonic()
        recent[event_id] = now
        recent.move_to_end(event_id)
        while recent and (len(recent) > RECENT_MAX or next(iter(recent.values())) < now - RECENT_S):
            recent.popitem(last=False)

    def heal(self, since: float) -> None:
        """Replay to this instance's sockets what was logged since `since` (in the background)."""
        if self.healer is None:
            return
        task = asyncio.ensure_future(self._heal(since))
        self._heals.add(task)
        task.add_done_callback(self._heals.discard)

    async def _heal(self, since: float) -> None:
        assert self.healer is not None
        async with self._heal_lock:  # one at a time: the next one skips what this one sent
            await self.healer(since, self.delivered)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        # Every delivery to this instance's sockets passes here, local or from Redis.
        data = message.get("data")
        if message.get("event") == HEAL_EVENT:
            since = data[0].get("since") if isinstance(data, list) and data else None
            if isinstance(since, (int, float)):
                self.heal(float(since))
            return
        if message.get("callback") is None:
            event_id = event_id_of(data)
            if event_id is not None:
                self.note_delivered(event_id)
            if self.guard.active:
                namespace = message.get("namespace") or "/"
                sids = [sid for sid, _ in self.get_participants(namespace, message.get("room"))]
                if isinstance(data, list) and len(data) == 1 and not message.get("binary"):
                    data = data[0]  # one argument: what a replay flush must send as is
                skip = self.guard.skip(message["event"], data, sids)
                if skip:
                    message = {**message, "skip_sid": _skip_list(message.get("skip_sid")) + skip}
        await super()._handle_emit(message)

    async def close(self) -> None:
        """Stop heals and gap announcements (at shutdown)."""
        await cancel_all(self._heals)
        await super().close()


class WriteOnlyRedisManager(_GapReporting):
    """The manager of a process without sockets: a failed publish is announced later."""

    def __init__(self, url: str, *, channel: str) -> None:
        super().__init__(url, channel=channel, write_only=True)
        self._init_gaps()


class GuardedManager(DirectFanOut):
    """The in-process manager (one backend instance, no Redis), with the replay guard."""

    def __init__(self, *, guard: ReplayGuard) -> None:
        super().__init__()
        self.guard = guard

    def _held_back(
        self, event: str, data: Any, namespace: str, room: Any, kwargs: dict[str, Any]
    ) -> list[str]:
        """The sockets the replay guard holds this broadcast back from."""
        if not self.guard.active or kwargs.get("ignore_queue"):
            return []
        sids = [sid for sid, _ in self.get_participants(namespace or "/", room)]
        return self.guard.skip(event, data, sids)
