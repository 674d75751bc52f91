"""Property: over 10,000 generated messages, good and bad, at the parser and the running gateway.

Hypothesis builds the messages (tests/hub_gateway/bad_input.py) and checks each one at
the parser as it goes, so a parser fault shrinks to a minimal payload. The same messages
then go through the real Mosquitto into a running gateway, with one hub flooding on top:
every valid reading is stored exactly once, every refused message has its dead letter of
the right class (or is counted in a rate-limit report), and the gateway still works.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import hub_topic
from sst_core.db.models import Sensor
from sst_hub_gateway.batch import parse_message
from sst_hub_gateway.mqtt import InboundMessage
from sst_hub_gateway.service import Gateway
from sst_hub_gateway.settings import GatewaySettings
from tests.factories import HomeFixture, make_home
from tests.hub_gateway.bad_input import MESSAGE_CLASSES, NEIGHBOUR_KEY, Case, World, messages
from tests.hub_gateway.conftest import gateway_settings
from tests.hub_gateway.helpers import HubPublisher, eventually, now_ms, running

LEAST = 10_000
HUBS = 30
LIMIT = 32 * 1024
FLOOD = 3000
RATE = {"messages_per_s": 100, "messages_burst": 2000, "readings_burst": 200_000}
CHUNK = 500  # below Mosquitto's default queue of 1000 messages per subscriber

# The reason a hub maker reads, back to its class (docs/mqtt.md, "Bad input").
REASON_CLASSES = [
    ("bad_topic", r"(topic is not |hub serial in topic |unknown message kind )"),
    ("too_large", r"payload of \d+ bytes exceeds the limit"),
    ("not_utf8", r"payload is not UTF-8 text"),
    ("too_deep", r"JSON nested \d+ levels deep"),
    ("huge_number", r"number too large: "),
    ("duplicate_key", r"duplicate key "),
    ("malformed_json", r"malformed JSON: "),
    ("non_finite", r"schema: .*finite number"),
    ("schema", r"schema: "),
    ("unknown_hub", r"unknown hub "),
    ("unknown_sensor", r"unknown sensor "),
    ("future", r"timestamp .* in the future"),
    ("too_old", r"timestamp .* days old"),
    ("rate_limited", r"rate limited: "),
]
RATE_LIMITED = re.compile(r"rate limited: (\d+) messages? ")


def classify(reason: str) -> str:
    """The refusal class of a dead letter's reason."""
    for code, pattern in REASON_CLASSES:
        if re.match(pattern, reason):
            return code
    raise AssertionError(f"unknown reason: {reason!r}")


def check_parser(case: Case, gateway: GatewaySettings) -> None:
    """The parser alone refuses what it can judge and reads the rest exactly."""
    parsed = parse_message(InboundMessage(case.topic, case.payload, 1, 0, 0, time.time()), gateway)
    if case.refusal in MESSAGE_CLASSES:
        assert parsed.rejection is not None, case
        assert parsed.rejection.code == case.refusal, (case, parsed.rejection)
        return
    assert parsed.rejection is None, (case, parsed.rejection)
    readings = parsed.readings or []
    assert [(r["sensor"], r["ts"], r["value"]) for r in readings] == list(case.parsed), case


def generate(world: World, gateway: GatewaySettings) -> list[Case]:
    """At least LEAST messages from Hypothesis, each checked at the parser on the way."""
    cases: list[Case] = []

    @settings(
        max_examples=LEAST // 25,
        derandomize=True,  # the same messages on every run and in CI
        database=None,
        deadline=None,  # one example is a batch of 20-40 messages: its time varies
        suppress_health_check=[
            # Examples are batches of whole messages on purpose: big, and slower than one.
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(st.lists(messages(world), min_size=20, max_size=40))
    def parse_all(batch: list[Case]) -> None:
        for case in batch:
            check_parser(case, gateway)
        cases.extend(batch)

    parse_all()
    return cases


async def test_generated_messages_at_parser_and_gateway(
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    publisher: HubPublisher,
) -> None:
    homes = [await make_home(sessionmaker) for _ in range(HUBS)]
    neighbour, flooder = await make_home(sessionmaker), await make_home(sessionmaker)
    async with sessionmaker() as session, session.begin():
        session.add(Sensor(hub_id=neighbour.hub_id, key=NEIGHBOUR_KEY, kind="door"))
    tag = uuid.uuid4().hex[:10]
    world = World(tag, [h.hub_serial for h in homes], now_ms(), LIMIT)
    limits = {f"rate_limit_{k}": v for k, v in RATE.items()}
    settings_ = gateway_settings(
        max_payload_bytes=LIMIT, batch_max_delay_ms=2, rate_limit_report_interval_s=1.0, **limits
    )

    started = time.monotonic()
    cases = generate(world, settings_)
    generated_s = time.monotonic() - started
    assert len(cases) >= LEAST
    assert set(MESSAGE_CLASSES) <= {c.refusal for c in cases}
    sent = [c for c in cases if c.deliverable]
    # No valid hub may reach its limit (its budget starts full): only the flood is limited.
    per_hub = Counter(c.hub for c in sent)
    assert max(per_hub.values()) < RATE["messages_burst"]
    assert max(sum(len(c.parsed) for c in sent if c.hub == h) for h in per_hub) < 200_000

    flood = flood_of(cases, flooder, world)
    falls = [c for c in flood if c.refusal is None]
    gateway = Gateway(settings_)
    async with running(gateway):
        started = time.monotonic()
        await publish_paced(publisher, gateway, sent)
        await publish_paced(publisher, gateway, flood)

        async def all_handled() -> bool:
            return await handled(engine, world, flooder, sent, flood)

        await eventually(all_handled, within=60)
        gateway_s = time.monotonic() - started
        # Still alive and well: a last reading is stored.
        canary = homes[0]
        ts = world.ts()
        await publisher.telemetry(
            canary.hub_serial, [{"sensor": "front-door", "ts": ts, "value": 1}]
        )
        expected = expected_rows(sent, falls, flooder)
        expected[(canary.hub_serial, "front-door", ts, 1.0)] += 1

        async def canary_stored() -> bool:
            return await stored_rows(engine, [*world.hubs, flooder.hub_serial]) == expected

        await eventually(canary_stored)

    # Exactly once: every valid reading a row, no row twice, nothing else.
    assert await stored_rows(engine, [*world.hubs, flooder.hub_serial]) == expected
    # Every refused message one dead letter of its class, filed under its hub.
    letters = await dead_letter_classes(engine, world)
    assert letters == expected_letters(sent)
    individual, limited, rows = await flood_letters(engine, flooder)
    assert limited > 0, "the flood was never limited"
    assert sum(individual.values()) + limited == len(flood) - len(falls)
    assert rows <= 2 + gateway_s / 1.0
    assert gateway.metrics.dead_letters["rate_limited"] == limited
    print(
        f"\n{len(cases)} generated ({len(sent)} published) + {len(flood)} flood messages; "
        f"generate+parse {generated_s:.1f} s, gateway {gateway_s:.1f} s; "
        f"{sum(expected.values())} readings stored; flood: {limited} rate-limited in {rows} rows"
    )


def flood_of(cases: list[Case], flooder: HomeFixture, world: World) -> list[Case]:
    """One hub sends the generated garbage as fast as it can, with falls in between."""
    garbage = [c for c in cases if c.deliverable and c.refusal in MESSAGE_CLASSES - {"bad_topic"}]
    serial = flooder.hub_serial
    flood: list[Case] = []
    for i in range(FLOOD):
        if i % 25 == 0:
            fall = ("fall-1", world.ts(), 1.0)
            body = b'{"sensor":"fall-1","ts":%d,"value":1}' % fall[1]
            flood.append(Case(hub_topic(serial, "events"), body, serial, None, (fall,), (fall,)))
        else:
            bad = garbage[i % len(garbage)]
            kind = bad.topic.rsplit("/", 1)[-1]
            flood.append(Case(hub_topic(serial, kind), bad.payload, serial, bad.refusal))
    return flood


async def publish_paced(publisher: HubPublisher, gateway: Gateway, cases: list[Case]) -> None:
    """Publish in chunks the gateway takes in before the next, so the broker drops nothing."""
    for start in range(0, len(cases), CHUNK):
        chunk = cases[start : start + CHUNK]
        goal = gateway.metrics.messages + len(chunk)
        await publisher.publish_many([(c.topic, c.payload) for c in chunk])
        await eventually(functools.partial(_reached, gateway, goal), within=30)


async def _reached(gateway: Gateway, messages: int) -> bool:
    return gateway.metrics.messages >= messages


def expected_rows(
    sent: list[Case], falls: list[Case], flooder: HomeFixture
) -> Counter[tuple[str, str, int, float]]:
    rows: Counter[tuple[str, str, int, float]] = Counter()
    for case in [*sent, *falls]:
        for key, ts, value in case.stored:
            assert case.hub is not None
            rows[(case.hub, key, ts, value)] += 1
    return rows


def expected_letters(sent: list[Case]) -> Counter[tuple[str, str]]:
    return Counter((c.hub or "?", c.refusal) for c in sent if c.refusal is not None)


async def stored_rows(
    engine: AsyncEngine, serials: list[str]
) -> Counter[tuple[str, str, int, float]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT h.serial, s.key, (extract(epoch FROM r.time) * 1000)::bigint AS ts, "
                "r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id "
                "JOIN hubs h ON h.id = s.hub_id WHERE h.serial = ANY(:serials)"
            ),
            {"serials": serials},
        )
        return Counter((r.serial, r.key, int(r.ts), float(r.value)) for r in rows)


async def dead_letter_classes(engine: AsyncEngine, world: World) -> Counter[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT hub_serial, reason FROM dead_letters WHERE hub_serial = ANY(:serials) "
                "OR hub_serial LIKE :ghosts OR (hub_serial IS NULL AND topic LIKE :tagged)"
            ),
            {
                "serials": world.hubs,
                "ghosts": f"ghost-{world.tag}-%",
                "tagged": f"%{world.tag}%",
            },
        )
        return Counter((r.hub_serial or "?", classify(r.reason)) for r in rows)


async def flood_letters(engine: AsyncEngine, flooder: HomeFixture) -> tuple[Counter[str], int, int]:
    """The flood hub's dead letters: classes of the single ones, messages and rows limited."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT reason FROM dead_letters WHERE hub_serial = :serial"),
            {"serial": flooder.hub_serial},
        )
        individual: Counter[str] = Counter()
        limited = reports = 0
        for (reason,) in rows:
            match = RATE_LIMITED.match(reason)
            if match:
                limited += int(match[1])
                reports += 1
            else:
                individual[classify(reason)] += 1
        return individual, limited, reports


async def handled(
    engine: AsyncEngine, world: World, flooder: HomeFixture, sent: list[Case], flood: list[Case]
) -> bool:
    """Every published message has left its trace (rows, dead letters, reports): counted in SQL.

    Counting, not fetching: the gateway shares this event loop, and a poll that pulls a
    quarter of a million rows would starve it.
    """
    falls = [c for c in flood if c.refusal is None]
    rows = sum(expected_rows(sent, falls, flooder).values())
    letters = sum(expected_letters(sent).values())
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text(
                "SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id "
                "JOIN hubs h ON h.id = s.hub_id WHERE h.serial = ANY(:serials)"
            ),
            {"serials": [*world.hubs, flooder.hub_serial]},
        )
        filed = await conn.scalar(
            text(
                "SELECT count(*) FROM dead_letters WHERE hub_serial = ANY(:serials) "
                "OR hub_serial LIKE :ghosts OR (hub_serial IS NULL AND topic LIKE :tagged)"
            ),
            {"serials": world.hubs, "ghosts": f"ghost-{world.tag}-%", "tagged": f"%{world.tag}%"},
        )
    if stored < rows or filed < letters:
        return False
    individual, limited, _ = await flood_letters(engine, flooder)
    return sum(individual.values()) + limited >= len(flood) - len(falls)
