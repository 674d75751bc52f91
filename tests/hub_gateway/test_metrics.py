"""The gateway serves Prometheus metrics; its labelled counters move as messages arrive."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sst_core.const import hub_topic
from sst_hub_gateway.service import Gateway
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import gateway_settings
from tests.hub_gateway.helpers import HubPublisher, eventually, now_ms, running
from tests.ports import free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> Samples:
    """Every sample of /metrics, keyed by (name, sorted labels)."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_endpoint_counts_by_label(home: HomeFixture, publisher: HubPublisher) -> None:
    port = free_port()
    gateway = Gateway(gateway_settings(metrics_port=port))
    serial = home.hub_serial
    ts = now_ms() - 1000
    async with running(gateway):
        before = await scrape(port)
        # Labels exist before anything happened, so a dashboard sees zeros, not gaps.
        assert ("sst_gateway_dead_letters_total", (("reason", "rate_limited"),)) in before
        assert ("sst_gateway_queue_depth", ()) in before
        await publisher.telemetry(
            serial,
            [
                {"sensor": "kitchen-motion", "ts": ts, "value": 1},
                {"sensor": "living-temp", "ts": ts, "value": 21.5},
                {"sensor": "attic-motion", "ts": ts, "value": 1},
            ],
        )
        await publisher.publish(
            hub_topic(serial, "events"), {"sensor": "button-1", "ts": ts, "value": 1}
        )
        await publisher.publish(hub_topic(serial, "telemetry"), b'{"readings": [')
        await publisher.publish(hub_topic(serial, "telemetry"), b"\x00\xff binary")
        await publisher.publish(hub_topic(serial, "status"), b'{"online":true,"online":false}')

        latest: list[Samples] = [before]

        async def counted() -> bool:
            latest.append(await scrape(port))
            return all(grew(name, labels) >= least for name, labels, least in EXPECTED)

        def grew(name: str, labels: dict[str, str]) -> float:
            return value(latest[-1], name, **labels) - value(before, name, **labels)

        with contextlib.suppress(AssertionError):
            await eventually(counted)
    # Other suites may share the broker, so counts are at least ours, never less.
    for name, labels, least in EXPECTED:
        assert grew(name, labels) >= least, (name, labels)
    assert value(latest[-1], "sst_gateway_batch_seconds_sum") > 0


EXPECTED: list[tuple[str, dict[str, str], int]] = [
    ("sst_gateway_messages_total", {"kind": "telemetry"}, 3),
    ("sst_gateway_messages_total", {"kind": "events"}, 1),
    ("sst_gateway_messages_total", {"kind": "status"}, 1),
    ("sst_gateway_readings_total", {"outcome": "stored"}, 3),
    ("sst_gateway_readings_total", {"outcome": "refused"}, 1),
    ("sst_gateway_dead_letters_total", {"reason": "unknown_sensor"}, 1),
    ("sst_gateway_dead_letters_total", {"reason": "malformed_json"}, 1),
    ("sst_gateway_dead_letters_total", {"reason": "not_utf8"}, 1),
    ("sst_gateway_dead_letters_total", {"reason": "duplicate_key"}, 1),
    ("sst_gateway_batch_seconds_count", {}, 1),
]


async def test_ready_says_whether_the_gateway_is_subscribed() -> None:
    """/ready answers 503 until the gateway subscribed (what is published before is lost to
    it), then 200: the demo simulator and compose's health check wait for it."""
    port = free_port()
    # A broker that is not there: the gateway serves its metrics but never subscribes.
    nowhere = Gateway(gateway_settings(metrics_port=port, mqtt_port=free_port()))
    stop = asyncio.Event()
    task = asyncio.create_task(nowhere.run(stop))
    try:

        async def answered() -> bool:
            with contextlib.suppress(httpx.TransportError):
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{port}/ready")
                    answers.append(response.status_code)
                    return True
            return False

        answers: list[int] = []
        await eventually(answered)
        await asyncio.sleep(1.0)
        assert await answered()
        assert answers[-2:] == [503, 503], answers
        assert not nowhere.ready.is_set()
        assert ("sst_gateway_queue_depth", ()) in await scrape(port)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    port = free_port()
    gateway = Gateway(gateway_settings(metrics_port=port))
    async with running(gateway):
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/ready")
        assert (response.status_code, response.text) == (200, "subscribed\n")
