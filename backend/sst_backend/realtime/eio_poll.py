"""Engine.IO's socket writer waits for its next packet without a task or timer per packet.

python-engineio's `AsyncSocket.poll` waits on the socket's queue through
`asyncio.wait_for`, which on Python 3.11 wraps the wait in a new task every time: for a
broadcast to 1,000 dashboards that is 1,000 tasks made and collected, about a fifth of the
backend's CPU per (event, socket) in `bench/fanout.py`'s profile. Bounding the wait with
`asyncio.timeout` instead still armed and cancelled a timer per packet and socket (another
fifth of the fan-out in the next profile). So the bound is kept lazily: one timer per
socket, which on firing checks whether the writer has been waiting for the whole limit and
otherwise sets itself again for the end of the current wait; about one timer per socket
every ping interval instead of one per packet.

The behaviour is the library's: the first packet waited for at most ping interval + ping
timeout (else `QueueEmpty`, which ends the writer), then whatever else is queued, `None`
meaning the socket closes; a cancelled wait is `QueueEmpty` too.

`install()` replaces the method once per process, and only on the python-engineio versions
whose `poll` it was written against (`POLL_WRITTEN_FOR`): another version keeps its own
until this module has been checked against it (a warning says so).
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import version
from typing import Any

from engineio import async_socket, exceptions

log = logging.getLogger("sst.backend.realtime")

POLL_WRITTEN_FOR = ("4.12", "4.13", "4.14", "4.15")

# Put on a socket's queue by its watch when the writer has waited the whole limit.
_EXPIRED = object()


class _Watch:
    """The one timer of a socket's writer, and when its current wait began."""

    __slots__ = ("handle", "since", "waiting")

    def __init__(self) -> None:
        self.handle: asyncio.TimerHandle | None = None
        self.since = 0.0
        self.waiting = False


def _check(sock: Any, watch: _Watch, limit: float) -> None:
    watch.handle = None
    if not watch.waiting:
        return  # the next wait sets the timer again
    loop = asyncio.get_running_loop()
    due = watch.since + limit
    if loop.time() >= due:
        sock.queue.put_nowait(_EXPIRED)
    else:
        watch.handle = loop.call_at(due, _check, sock, watch, limit)


async def poll(self: Any) -> list[Any]:
    """The packets to send next (`AsyncSocket.poll`, without a task or timer per packet)."""
    queue: asyncio.Queue[Any] = self.queue
    if queue.empty():
        watch = self.__dict__.get("_sst_watch")
        if watch is None:
            watch = self._sst_watch = _Watch()
        loop = asyncio.get_running_loop()
        watch.since = loop.time()
        if watch.handle is None:
            limit = self.server.ping_interval + self.server.ping_timeout
            watch.handle = loop.call_at(watch.since + limit, _check, self, watch, limit)
        watch.waiting = True
        try:
            first = await queue.get()
        except asyncio.CancelledError:
            raise exceptions.QueueEmpty() from None
        finally:
            watch.waiting = False
        if first is _EXPIRED:
            queue.task_done()
            raise exceptions.QueueEmpty()
    else:
        first = queue.get_nowait()
    queue.task_done()
    if first is None:
        return []
    packets = [first]
    while True:
        try:
            pkt = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)  # the close stays queued for the next poll
            break
        if pkt is _EXPIRED:  # a limit reached just as packets came: they go first
            continue
        packets.append(pkt)
    return packets


def install() -> bool:
    """Use `poll` for every Engine.IO socket of this process; whether it is in use."""
    if async_socket.AsyncSocket.poll is poll:
        return True
    installed = version("python-engineio")
    if not installed.startswith(tuple(f"{v}." for v in POLL_WRITTEN_FOR)):
        log.warning(
            "python-engineio %s: its own socket poll is kept (eio_poll is written for %s)",
            installed,
            ", ".join(POLL_WRITTEN_FOR),
        )
        return False
    async_socket.AsyncSocket.poll = poll
    return True
