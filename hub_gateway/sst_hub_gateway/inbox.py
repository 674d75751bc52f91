"""A bounded hand-off from paho's network thread to the event loop.

An `asyncio.Queue` fed with `call_soon_threadsafe` wakes the event loop (a write to its
self-pipe) for every message: at tens of thousands of messages a second that is most of
the work. Here paho's thread appends to a deque and wakes the loop only when the loop is
actually waiting for a message. When `capacity` messages wait, paho's thread blocks, stops
reading its socket, and the broker holds the rest (TCP back-pressure, nothing dropped).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class Inbox(Generic[_T]):
    """Single producer thread, single consumer coroutine, at most `capacity` items."""

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._capacity = capacity
        self._items: deque[_T] = deque()
        self._room = threading.Condition()
        self._producer_waiting = False
        self._waiter: asyncio.Future[None] | None = None
        self._wake_scheduled = False

    def __len__(self) -> int:
        return len(self._items)

    # -- producer (any thread) -----------------------------------------------------------

    def put(self, item: _T, cancelled: Callable[[], bool]) -> bool:
        """Add an item, waiting while the inbox is full; False if `cancelled()` came first."""
        if len(self._items) >= self._capacity:
            with self._room:
                self._producer_waiting = True
                try:
                    while len(self._items) >= self._capacity:
                        if cancelled():
                            return False
                        self._room.wait(0.5)
                finally:
                    self._producer_waiting = False
        self._items.append(item)
        # Either the consumer sees the item before it sleeps, or we see its waiter here.
        if self._waiter is not None and not self._wake_scheduled:
            self._wake_scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop is closed: we are shutting down
                return False
        return True

    def release(self) -> None:
        """Wake a producer blocked on a full inbox (for shutdown)."""
        with self._room:
            self._room.notify_all()

    # -- consumer (the event loop) -------------------------------------------------------

    def get_nowait(self) -> _T:
        """The oldest item; IndexError when empty."""
        item = self._items.popleft()
        if self._producer_waiting:
            with self._room:
                self._room.notify()
        return item

    async def wait(self, within: float) -> bool:
        """Wait until an item is there (True) or `within` seconds passed (False)."""
        if self._items:
            return True
        waiter = self._loop.create_future()
        self._waiter = waiter
        try:
            if self._items:  # arrived between the check and publishing the waiter
                return True
            await asyncio.wait_for(waiter, within)
        except TimeoutError:
            pass
        finally:
            self._waiter = None
        return bool(self._items)

    def _wake(self) -> None:
        self._wake_scheduled = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
