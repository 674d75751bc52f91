"""An urgent event (fall, button, smoke) cuts the batch it lands in short, within a budget.

Telemetry waits up to `batch_max_delay_ms` for its batch to fill; a fall must not. Here the
delay is 3 s, so a fall that waited for its batch would be seen 3 s late.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from sst_core.const import URGENT_STREAM
from sst_hub_gateway.service import Gateway
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import gateway_settings, stream_entries
from tests.hub_gateway.helpers import HubPublisher, eventually, now_ms, running

SLOW_BATCH_S = 3.0


async def _settled(home: HomeFixture, publisher: HubPublisher, redis: Redis) -> None:
    """Wait until no batch is open: one the measured telemetry could join would close early.

    Retained hub statuses left by other tests arrive right after the gateway subscribes and
    open a batch; on a slow machine most of its delay can pass before the gateway says it is
    ready. A marker reading published now is streamed only when that batch (or its own) has
    been flushed, since the broker delivers in order.
    """
    await publisher.telemetry(
        home.hub_serial, [{"sensor": "living-temp", "ts": now_ms() - 60_000, "value": 20}]
    )

    async def flushed() -> bool:
        return len(await stream_entries(redis, home.hub_serial)) >= 1

    await eventually(flushed, within=SLOW_BATCH_S + 10)


async def _falls_seen_after(
    gateway: Gateway,
    home: HomeFixture,
    publisher: HubPublisher,
    redis: Redis,
    falls: int = 1,
    *,
    settle: bool = False,
) -> float:
    """Seconds from publishing telemetry then `falls` falls to the last urgent-stream entry."""
    async with running(gateway):
        if settle:
            await _settled(home, publisher, redis)
        t0 = now_ms()
        sent = time.monotonic()
        # The telemetry opens a batch that would close SLOW_BATCH_S later.
        await publisher.telemetry(
            home.hub_serial, [{"sensor": "living-temp", "ts": t0, "value": 21}]
        )
        for n in range(falls):
            await publisher.event(
                home.hub_serial, {"sensor": "fall-1", "ts": t0 + 1 + n, "value": 1}
            )

        async def streamed() -> bool:
            return len(await stream_entries(redis, home.hub_serial, URGENT_STREAM)) == falls

        await eventually(streamed, within=SLOW_BATCH_S * falls + 10)
        return time.monotonic() - sent


async def test_a_fall_does_not_wait_for_its_batch_to_fill(
    home: HomeFixture, publisher: HubPublisher, redis: Redis
) -> None:
    gateway = Gateway(
        gateway_settings(batch_max_delay_ms=int(SLOW_BATCH_S * 1000), urgent_flushes_per_s=20)
    )
    took = await _falls_seen_after(gateway, home, publisher, redis)
    assert took < SLOW_BATCH_S / 2, took
    assert gateway.metrics.urgent_flushes == 1


async def test_without_the_budget_a_fall_waits_for_its_batch(
    home: HomeFixture, publisher: HubPublisher, redis: Redis
) -> None:
    """The control: the same path with no urgent flushes allowed takes the batch delay."""
    gateway = Gateway(
        gateway_settings(batch_max_delay_ms=int(SLOW_BATCH_S * 1000), urgent_flushes_per_s=0)
    )
    took = await _falls_seen_after(gateway, home, publisher, redis, settle=True)
    assert took >= SLOW_BATCH_S * 0.9, took
    assert gateway.metrics.urgent_flushes == 0


async def test_a_flood_of_events_cannot_shrink_every_batch(
    home: HomeFixture, publisher: HubPublisher, redis: Redis
) -> None:
    gateway = Gateway(gateway_settings(urgent_flushes_per_s=2))
    await _falls_seen_after(gateway, home, publisher, redis, falls=30)
    # A burst of 30 events: the budget's burst (2) cuts batches short, the rest wait.
    assert 1 <= gateway.metrics.urgent_flushes <= 4, gateway.metrics.urgent_flushes
