"""The heap keeper: frozen after full collections, a deep collection frees frozen cycles."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

import pytest

from sst_core.heap import HeapKeeper


class Node:
    """An object that can sit in a reference cycle and be watched through a weakref."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


@pytest.fixture
async def keeper() -> AsyncIterator[HeapKeeper]:
    keeper = HeapKeeper(deep_every_s=3600)
    keeper.start()
    try:
        yield keeper
    finally:
        keeper.close()
        assert gc.get_freeze_count() == 0


def _seen_by_the_collector(objects: list[Node]) -> int:
    """How many of `objects` the collector's generations hold (frozen ones it does not)."""
    wanted = {id(o) for o in objects}
    return sum(1 for o in gc.get_objects() if id(o) in wanted)


async def test_what_survives_a_full_collection_is_frozen(keeper: HeapKeeper) -> None:
    assert gc.get_freeze_count() > 0  # the start-up heap
    keep = [cycle()[0] for _ in range(2000)]  # alive, tracked, made after the start
    assert _seen_by_the_collector(keep) == len(keep)  # the control: not frozen yet
    gc.collect()
    for _ in range(3):  # the freeze runs on the loop, after the collection
        await asyncio.sleep(0)
    assert keeper.freezes >= 2
    # Still tracked, but out of the collector's generations: its next walks skip them.
    # (The freeze count itself is no measure here: frozen objects that die by reference
    # counting leave it, in a busy process more than were added.)
    assert all(gc.is_tracked(node) for node in keep)
    assert _seen_by_the_collector(keep) == 0


async def test_a_frozen_cycle_waits_for_the_deep_collection(keeper: HeapKeeper) -> None:
    node, ref = cycle()
    gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)
    del node  # garbage now, but frozen: the ordinary collections do not see it
    gc.collect()
    assert ref() is not None
    found = keeper.deep_collect()
    assert ref() is None
    assert found >= 2
    assert keeper.deep_collections == 1 and keeper.last_deep_pause_s is not None
    assert gc.get_freeze_count() > 0  # frozen again after the deep collection


async def test_without_the_keeper_the_same_cycle_is_collected_at_once() -> None:
    # The control of the test above: freezing is what kept the cycle.
    node, ref = cycle()
    del node
    gc.collect()
    assert ref() is None


async def test_deep_collections_run_on_their_schedule() -> None:
    keeper = HeapKeeper(deep_every_s=0.05)
    keeper.start()
    stop = asyncio.Event()
    task = asyncio.create_task(keeper.run(stop))
    try:
        # Each deep collection walks this whole test process: it takes a while.
        for _ in range(200):
            if keeper.deep_collections >= 2:
                break
            await asyncio.sleep(0.05)
        assert keeper.deep_collections >= 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)
        keeper.close()
    ran = keeper.deep_collections
    await asyncio.sleep(0.3)
    assert keeper.deep_collections == ran  # stopped means stopped


async def test_closing_unhooks_and_unfreezes() -> None:
    keeper = HeapKeeper(deep_every_s=3600)
    keeper.start()
    assert keeper._on_collection in gc.callbacks
    keeper.close()
    assert keeper._on_collection not in gc.callbacks
    assert gc.get_freeze_count() == 0
    freezes = keeper.freezes
    gc.collect()
    await asyncio.sleep(0)
    assert keeper.freezes == freezes


def test_a_schedule_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        HeapKeeper(deep_every_s=0)
