"""PostgreSQL going away: the gateway holds its acks back, retries, and loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_hub_gateway.service import Gateway
from tests.conftest import PG_HOST, PG_PORT, TEST_DB
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import gateway_settings, stored_readings, stream_entries
from tests.hub_gateway.helpers import HubPublisher, TcpProxy, eventually, now_ms, running


async def test_batch_is_retried_until_postgres_is_back(
    database_url: str, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine, redis: Redis
) -> None:
    proxy = TcpProxy(PG_HOST, PG_PORT)
    await proxy.start()
    settings = gateway_settings(
        database_url=f"postgresql+asyncpg://sst@127.0.0.1:{proxy.port}/{TEST_DB}",
        mqtt_share_group=None,  # a plain subscription: this gateway sees every message
    )
    gateway = Gateway(settings)
    motion = home.sensors["living-motion"]
    ts = now_ms()
    async with _closing(proxy), running(gateway):
        await publisher.telemetry(
            home.hub_serial, [{"sensor": "living-motion", "ts": ts, "value": 1}]
        )
        await eventually(lambda: _stored(engine, motion, 1))

        await proxy.cut()
        retries = gateway.metrics.db_retries
        await publisher.telemetry(
            home.hub_serial, [{"sensor": "living-motion", "ts": ts + 1, "value": 0}]
        )

        async def retrying() -> bool:
            return gateway.metrics.db_retries >= retries + 2

        await eventually(retrying)
        assert len(await stored_readings(engine, [motion])) == 1
        assert len(await stream_entries(redis, home.hub_serial)) == 1

        await proxy.start()
        await eventually(lambda: _stored(engine, motion, 2))

        async def streamed() -> bool:
            return len(await stream_entries(redis, home.hub_serial)) == 2

        await eventually(streamed)


async def test_unacknowledged_message_is_delivered_again_after_restart(
    database_url: str, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine
) -> None:
    proxy = TcpProxy(PG_HOST, PG_PORT)
    await proxy.start()
    await proxy.cut()  # the first gateway never reaches PostgreSQL
    client_id = gateway_settings().mqtt_client_id
    down = gateway_settings(
        mqtt_client_id=client_id,
        mqtt_share_group=None,
        database_url=f"postgresql+asyncpg://sst@127.0.0.1:{proxy.port}/{TEST_DB}",
    )
    first = Gateway(down)
    stop = asyncio.Event()
    task = asyncio.create_task(first.run(stop))
    await asyncio.wait_for(first.ready.wait(), 10)
    ts = now_ms()
    door = home.sensors["front-door"]
    await publisher.telemetry(home.hub_serial, [{"sensor": "front-door", "ts": ts, "value": 1}])
    await eventually(lambda: _retried(first))
    stop.set()  # gives up on the batch without acknowledging it
    await asyncio.wait_for(task, 30)
    assert await stored_readings(engine, [door]) == []

    # Same client id, persistent session: the broker hands the message to the next run.
    second = Gateway(gateway_settings(mqtt_client_id=client_id, mqtt_share_group=None))
    async with running(second):
        await eventually(lambda: _stored(engine, door, 1))


@contextlib.asynccontextmanager
async def _closing(proxy: TcpProxy) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await proxy.cut()


async def _stored(engine: AsyncEngine, sensor_id: int, count: int) -> bool:
    return len(await stored_readings(engine, [sensor_id])) == count


async def _retried(gateway: Gateway) -> bool:
    return gateway.metrics.db_retries >= 1


async def test_a_connection_left_broken_is_waited_out_not_fatal() -> None:
    """asyncpg's InternalClientError ("cannot switch to state ...; another operation is in
    progress"), seen when PostgreSQL stopped in the middle of a write, once ended the
    gateway. It is retried like any connection failure, with the pool's connections
    replaced."""

    class Pool:
        expired = 0

        async def expire_connections(self) -> None:
            Pool.expired += 1

    calls: list[int] = []

    async def step(work: int, planner: object, pool: object) -> int:
        calls.append(work)
        if len(calls) == 1:
            raise asyncpg.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            )
        return work * 2

    gateway = Gateway(gateway_settings())
    result = await gateway._retrying(step, 21, None, Pool(), asyncio.Event())  # type: ignore[arg-type]
    assert result == 42 and calls == [21, 21]
    assert Pool.expired == 1 and gateway.metrics.db_retries == 1
