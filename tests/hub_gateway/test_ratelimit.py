"""Per-hub rate limit: token buckets, urgent events always pass, refusals reported in aggregate."""

from __future__ import annotations

import re
import time

import orjson
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.const import hub_topic
from sst_hub_gateway.batch import ParsedMessage, parse_message
from sst_hub_gateway.mqtt import InboundMessage
from sst_hub_gateway.ratelimit import RATE_LIMITED, RateLimiter
from sst_hub_gateway.service import Gateway
from sst_hub_gateway.settings import GatewaySettings
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import dead_letters, gateway_settings, stored_readings
from tests.hub_gateway.helpers import HubPublisher, eventually, now_ms, running

SETTINGS = GatewaySettings()
REFUSED = re.compile(r"^rate limited: (\d+) messages? \((\d+) readings\) refused since ")


def message(serial: str, kind: str, body: dict[str, object]) -> ParsedMessage:
    inbound = InboundMessage(hub_topic(serial, kind), orjson.dumps(body), 1, 1, 1, time.time())
    return parse_message(inbound, SETTINGS)


def telemetry(serial: str, n: int = 1) -> ParsedMessage:
    readings = [{"sensor": "kitchen-motion", "ts": i + 1, "value": 1} for i in range(n)]
    return message(serial, "telemetry", {"readings": readings})


def event(serial: str) -> ParsedMessage:
    return message(serial, "events", {"sensor": "fall-1", "ts": 1, "value": 1})


def limiter(**overrides: float) -> RateLimiter:
    values: dict[str, float] = {
        "messages_per_s": 1.0,
        "messages_burst": 3,
        "readings_per_s": 100.0,
        "readings_burst": 1000,
        "report_interval_s": 10.0,
    }
    values.update(overrides)
    return RateLimiter(
        messages_per_s=values["messages_per_s"],
        messages_burst=int(values["messages_burst"]),
        readings_per_s=values["readings_per_s"],
        readings_burst=int(values["readings_burst"]),
        report_interval_s=values["report_interval_s"],
    )


def reports(store: list[ParsedMessage]) -> list[tuple[str | None, int]]:
    out = []
    for parsed in store:
        if parsed.rejection is not None and parsed.rejection.code == RATE_LIMITED:
            match = REFUSED.match(parsed.rejection.reason)
            assert match, parsed.rejection.reason
            out.append((parsed.hub_serial, int(match[1])))
    return out


def test_burst_then_refusals_reported_once_per_interval() -> None:
    rl = limiter()
    batch = [telemetry("hub-a") for _ in range(10)]
    first = rl.apply(batch, 100.0)
    assert first.refused_messages == 7 and first.refused_readings == 7
    assert [p for p in first.store if p.rejection is None] == batch[:3]
    assert reports(first.store) == [("hub-a", 7)]  # the first refusal is reported at once
    # Two seconds later: two tokens back; the rest refused, but no second row yet.
    second = rl.apply([telemetry("hub-a") for _ in range(5)], 102.0)
    assert second.refused_messages == 3
    assert reports(second.store) == []
    assert rl.pending and not rl.due(105.0)
    # Once the interval has passed, even an idle gateway writes the sum (an empty batch).
    assert rl.due(110.0)
    assert reports(rl.apply([], 110.0).store) == [("hub-a", 3)]
    assert not rl.pending


def test_hubs_have_separate_budgets() -> None:
    rl = limiter()
    admission = rl.apply([telemetry(s) for s in ("hub-a", "hub-b") for _ in range(4)], 1.0)
    assert admission.refused_messages == 2
    assert sorted(reports(admission.store)) == [("hub-a", 1), ("hub-b", 1)]


def test_readings_budget_counts_readings() -> None:
    rl = limiter(messages_burst=100, readings_burst=1000, readings_per_s=10)
    admission = rl.apply([telemetry("hub-a", 400) for _ in range(3)], 1.0)
    assert admission.refused_messages == 1 and admission.refused_readings == 400
    assert rl.apply([telemetry("hub-a", 400)], 11.0).refused_messages == 1  # 200+100 < 400
    assert rl.apply([telemetry("hub-a", 400)], 21.0).refused_messages == 0  # 200+200


def test_urgent_events_are_never_refused() -> None:
    rl = limiter()
    events = [event("hub-a") for _ in range(50)]
    mixed = [telemetry("hub-a") for _ in range(20)] + events
    admission = rl.apply(mixed, 1.0)
    assert all(e in admission.store for e in events)
    assert admission.refused_messages == 17
    # Events spent what was left: telemetry waits for the refill.
    assert rl.apply([telemetry("hub-a")], 1.5).refused_messages == 1


def test_garbage_topics_share_a_bucket_per_topic_segment() -> None:
    rl = limiter()
    bad = InboundMessage("sst/v1/hubs/no such hub/telemetry", b"{}", 1, 1, 1, time.time())
    parsed = parse_message(bad, SETTINGS)
    assert parsed.hub_serial is None
    admission = rl.apply([parsed] * 5 + [telemetry("hub-a")], 1.0)
    assert admission.refused_messages == 2
    assert reports(admission.store) == [(None, 2)]
    [row] = [p for p in admission.store if p.rejection and p.rejection.code == RATE_LIMITED]
    assert row.inbound.topic == "sst/v1/hubs/no such hub/telemetry" and row.inbound.qos == 0


def test_disabled_limits_and_forgotten_hubs() -> None:
    off = limiter(messages_per_s=0, readings_per_s=0)
    batch = [telemetry("hub-a") for _ in range(100)]
    assert off.apply(batch, 1.0).store == batch
    rl = limiter()
    rl.apply([telemetry(f"hub-{i}") for i in range(1000)], 1.0)
    rl.apply([telemetry("hub-x")], 100.0)  # sweeps hubs that have refilled and owe no report
    assert len(rl._budgets) == 1


async def test_flood_from_one_hub_is_limited_and_reported_in_aggregate(
    home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine
) -> None:
    settings = gateway_settings(
        rate_limit_messages_per_s=5,
        rate_limit_messages_burst=20,
        rate_limit_report_interval_s=1.0,
    )
    gateway = Gateway(settings)
    serial = home.hub_serial
    ts = now_ms() - 60_000
    flood = [
        (
            hub_topic(serial, "telemetry"),
            {"readings": [{"sensor": "living-temp", "ts": ts + i, "value": 20}]},
        )
        for i in range(600)
    ]
    falls = [
        (hub_topic(serial, "events"), {"sensor": "fall-1", "ts": ts + i, "value": 1})
        for i in range(0, 600, 20)
    ]
    messages = []
    for i, (topic, body) in enumerate(flood):
        messages.append((topic, orjson.dumps(body)))
        if i % 20 == 0:  # urgent events in the middle of the flood
            messages.append((falls[i // 20][0], orjson.dumps(falls[i // 20][1])))
    async with running(gateway):
        started = time.monotonic()
        await publisher.publish_many(messages)
        elapsed = time.monotonic() - started

        async def reported() -> bool:
            return sum(await refused_counts(engine, serial)) + len(
                await stored_readings(engine, [home.sensors["living-temp"]])
            ) == len(flood)

        await eventually(reported, within=20)
    counts = await refused_counts(engine, serial)
    stored = len(await stored_readings(engine, [home.sensors["living-temp"]]))
    # The budget: the burst (less what the events took) plus what refilled while the flood
    # lasted, with slack for the batching delay; the rest refused, each refusal counted once.
    assert 20 - len(falls) <= stored <= 20 + 5 * (elapsed + 2)
    assert stored < len(flood) / 2
    assert sum(counts) == len(flood) - stored
    # At most one row per interval, not one per refused message.
    assert len(counts) <= 2 + elapsed / 1.0
    assert len(await stored_readings(engine, [home.sensors["fall-1"]])) == len(falls)
    assert gateway.metrics.dead_letters[RATE_LIMITED] == len(flood) - stored
    letters = await dead_letters(engine, serial)
    assert all(topic == hub_topic(serial, "telemetry") for topic, _, _ in letters)
    assert '"living-temp"' in letters[0][2]  # the excerpt of the first refused message
    assert isinstance(gateway.telemetry.registry, CollectorRegistry)
    value = gateway.telemetry.registry.get_sample_value(
        "sst_gateway_dead_letters_total", {"reason": RATE_LIMITED}
    )
    assert value == len(flood) - stored


async def refused_counts(engine: AsyncEngine, serial: str) -> list[int]:
    """The refused-message counts of a hub's rate-limit dead letters, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT reason FROM dead_letters WHERE hub_serial = :serial "
                "AND reason LIKE 'rate limited:%' ORDER BY id"
            ),
            {"serial": serial},
        )
        counts = []
        for (reason,) in rows:
            match = REFUSED.match(reason)
            assert match, reason
            counts.append(int(match[1]))
        return counts
