"""Engine.IO's socket writer waits for its next packet without a task per packet.

python-engineio's `AsyncSocket.poll` waits on the socket's queue through
`asyncio.wait_for`, which on Python 3.11 wraps the wait in a new task every time: for a
broadcast to 1,000 dashboards that is 1,000 tasks made and collected, about a fifth of the
backend's CPU per (event, socket) in `bench/fanout.py`'s profile. `asyncio.timeout` (3.11)
bounds the same wait in the writer's own task. The behaviour is the library's: the first
packet waited for at most ping interval + ping timeout (else `QueueEmpty`, which ends the
writer), then whatever else is queued, `None` meaning the socket closes.

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


async def poll(self: Any) -> list[Any]:
    """The packets to send next (`AsyncSocket.poll`, without wait_for's task)."""
    try:
        async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
            packets = [await self.queue.get()]
        self.queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise exceptions.QueueEmpty() from None
    if packets == [None]:
        return []
    while True:
        try:
            pkt = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        self.queue.task_done()
        if pkt is None:
            self.queue.put_nowait(None)  # the close stays queued for the next poll
            break
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
