"""Keeping the garbage collector's full passes short in a long-lived service.

CPython's cyclic collector walks every tracked object of the oldest generation in each
full collection. A backend with a thousand dashboards connected holds hundreds of
thousands of long-lived objects (each connection's sockets, queues, tasks, sessions), so
each full collection stopped the event loop for 160-350 ms, every 10-20 s while alerts
flowed (`bench/latency.py` with `bench/gcprobe`, docs/benchmarks.md). An alert that met one
reached the last dashboards that much later.

`HeapKeeper` moves what has survived a full collection out of the collector's way
(`gc.freeze()`): the next full collection walks only what is newer. Freezing is not free of
cost: a cycle among frozen objects that becomes garbage later (say, a dashboard connection
that was open at the freeze and has closed since) is not found until the objects are
unfrozen. So every `deep_every_s` the keeper unfreezes everything and runs one full
collection (one long pause, on a schedule, instead of one every few seconds), then freezes
again. Reference counting frees everything that is not in a cycle as before, frozen or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from typing import Any

log = logging.getLogger("sst.heap")


class HeapKeeper:
    """Freezes the heap after every full collection; unfreezes and collects on a schedule.

    `start()` on the event loop's thread (it freezes the start-up heap and hooks into the
    collector), `run(stop)` as a task for the scheduled deep collections, `close()` at
    shutdown (unfreezes). One keeper per process.
    """

    def __init__(self, *, deep_every_s: float) -> None:
        if deep_every_s <= 0:
            raise ValueError("deep_every_s must be positive")
        self.deep_every_s = deep_every_s
        self.freezes = 0
        self.deep_collections = 0
        self.last_deep_pause_s: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._freeze_pending = False

    def start(self) -> None:
        """Freeze what start-up made and freeze again after each full collection."""
        self._loop = asyncio.get_running_loop()
        # Garbage start-up left is frozen with the rest and freed at the first deep
        # collection: a full collection here would cost every start (and every test) that.
        self._freeze()
        gc.callbacks.append(self._on_collection)

    def close(self) -> None:
        """Stop freezing and give every frozen object back to the collector."""
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_collection)
        gc.unfreeze()

    async def run(self, stop: asyncio.Event) -> None:
        """Every `deep_every_s`, one deep collection, until `stop` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.deep_every_s)
            if not stop.is_set():
                self.deep_collect()

    def deep_collect(self) -> int:
        """Unfreeze, collect everything, freeze again; returns the objects found unreachable."""
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        self._freeze()
        self.last_deep_pause_s = time.perf_counter() - started
        self.deep_collections += 1
        log.info(
            "deep garbage collection: %d unreachable objects, %.0f ms, %d frozen now",
            found,
            self.last_deep_pause_s * 1000,
            gc.get_freeze_count(),
        )
        return found

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Called by the collector, on whichever thread allocated; the freeze itself runs
        # on the loop, after the collection has ended.
        if phase != "stop" or info.get("generation") != 2 or self._freeze_pending:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self._freeze_pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        self._freeze_pending = False
        gc.freeze()
        self.freezes += 1
