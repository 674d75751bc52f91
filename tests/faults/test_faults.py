"""Fault injection under load: break one part mid-stream, mend it, and count.

Each test is a row of the results table: the simulated hubs publish readings the whole
time; the fault happens; falls are injected in homes of their own while the part is
broken; the part is mended (by a restart, as a supervisor would: no manual step). Then
every reading published with QoS 1 during the row must be in PostgreSQL exactly once,
and every fall must have raised exactly one alert that reached a staff member's browser
on each backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
import paho.mqtt.client as mqtt
import pytest
from redis.asyncio import Redis

from sst_core.const import INFERENCE_GROUP, URGENT_STREAM
from sst_core.domain import AlertKind
from sst_devices.hub_agent import HubAgent
from tests.e2e.processes import ARTIFACTS
from tests.factories import PASSWORD
from tests.faults.conftest import ROWS, Platform
from tests.faults.stack import wait_async

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]

STEADY_S = float(os.environ.get("SST_FAULTS_STEADY_S", "4"))  # load before and after a fault
DRAIN_S = 180.0  # how long a row may take to store its backlog after the fault is mended


async def _stored(platform: Platform, lo: int, hi: int) -> tuple[set[int], int]:
    """Distinct load values stored in [lo, hi), and how many rows repeat one."""
    rows = await platform.fetch(
        "SELECT value::bigint AS v, count(*) AS n FROM readings "
        "WHERE sensor_id = ANY($1) AND value >= $2 AND value < $3 GROUP BY 1",
        platform.load_sensor_ids,
        float(lo),
        float(hi),
    )
    return {int(r["v"]) for r in rows}, sum(int(r["n"]) - 1 for r in rows)


async def _any_stored_from(platform: Platform, lo: int) -> bool:
    try:
        rows = await platform.fetch(
            "SELECT 1 FROM readings WHERE sensor_id = ANY($1) AND value >= $2 LIMIT 1",
            platform.load_sensor_ids,
            float(lo),
        )
    except (OSError, ConnectionError, Exception):  # the database may still be starting
        return False
    return bool(rows)


async def _diagnosis(platform: Platform) -> str:
    """Which services run, and the end of their logs with their stacks (a stuck one says where)."""
    for service in platform.services.values():
        service.dump_stacks()
    await asyncio.sleep(2)
    parts = []
    for name, service in platform.services.items():
        alive = service.process is not None and service.process.poll() is None
        parts.append(f"===== {name} ({'running' if alive else 'not running'}) =====")
        if alive and (name.startswith("gateway-1") or name.startswith("inference")):
            parts.append(service.tail(12_000))
    return "\n".join(parts)


async def run_row(
    platform: Platform,
    fault: str,
    *,
    break_: Callable[[], Awaitable[None]],
    mend: Callable[[], Awaitable[None]],
    outage_s: float,
    falls: int = 2,
    fall_every_s: float = 0.0,
    expect: Sequence[tuple[int, str]] = (),
) -> dict[str, object]:
    """One row: steady load, break, falls while broken, mend, steady load, count.

    `expect` adds alerts (resident, kind) the row's fault must not lose or double besides
    the falls (a windowed rule coming due while the part is broken).
    """
    ledger = platform.load.ledger
    homes = platform.take_homes(falls)
    seen_before = [len(w.received) for w in platform.watchers]
    start = ledger.mark()
    await asyncio.sleep(STEADY_S)
    await break_()
    broken_at = time.time()
    falls_from = time.monotonic()
    for i in homes:
        platform.agents[i].publish_event("fall-1", time.time_ns() // 1_000_000)
        # Irregular spacing: at a period that is a multiple of the workers' blocking read
        # (0.5 s), Redis would hand every fall to the worker that took the previous one.
        await asyncio.sleep(fall_every_s * random.uniform(0.5, 1.5))
    await asyncio.sleep(max(0.0, outage_s - (time.monotonic() - falls_from)))
    await mend()
    mended_at = time.time()
    first_after = ledger.mark()
    try:
        recovery_s = await wait_async(
            lambda: _any_stored_from(platform, first_after), DRAIN_S, f"ingestion after {fault}"
        )
    except AssertionError as stuck:
        raise AssertionError(f"{stuck}\n{await _diagnosis(platform)}") from None
    await asyncio.sleep(STEADY_S)
    end = ledger.mark()
    await asyncio.to_thread(platform.load.flush, 60)
    published = set(ledger.between(start, end))

    async def all_stored() -> bool:
        stored, _ = await _stored(platform, start, end)
        return published <= stored

    # Counted below if it never happens: the row reports what is missing.
    with contextlib.suppress(AssertionError):
        await wait_async(all_stored, DRAIN_S, f"every reading of the {fault} row to be stored")
    stored, duplicates = await _stored(platform, start, end)

    residents = [platform.homes[i].resident_id for i in homes]
    expected = [(r, AlertKind.FALL.value) for r in residents] + list(expect)

    async def alerts_raised() -> list[tuple[int, str, int]]:
        rows = await platform.fetch(
            "SELECT resident_id, kind, count FROM alerts WHERE resident_id = ANY($1)",
            [r for r, _ in expected],
        )
        found = [(int(r["resident_id"]), str(r["kind"]), int(r["count"])) for r in rows]
        return [a for a in found if (a[0], a[1]) in expected]

    async def every_alert_raised() -> bool:
        return len(await alerts_raised()) >= len(expected)

    async def every_client_told() -> bool:
        return all(w.has(r, k) for w in platform.watchers for r, k in expected)

    for check, what in ((every_alert_raised, "alerts"), (every_client_told, "the clients")):
        with contextlib.suppress(AssertionError):
            await wait_async(check, 60, f"{what} of the {fault} row")
    raised = await alerts_raised()
    delivered = sum(all(w.has(r, k) for w in platform.watchers) for r, k in expected)
    # Per watcher and alert: more than one event id is a second delivery; ids received
    # during the row must grow (the feed's order).
    repeats = 0
    out_of_order = 0
    examples: list[str] = []
    replayed = 0
    for watcher, before in zip(platform.watchers, seen_before, strict=True):
        for r, k in expected:
            repeats += max(0, len(set(watcher.alert_ids(r, k))) - 1)
        ids = [e.get("event_id") for e in watcher.received[before:]]
        known = [i for i in ids if isinstance(i, int)]
        swapped = [(a, b) for a, b in itertools.pairwise(known) if b <= a]
        out_of_order += len(swapped)
        examples.extend(f"{watcher.name}: {b} after {a}" for a, b in swapped[:3])
        replayed += sum(
            1
            for e in watcher.received[before:]
            if e.get("replayed") and (e.get("resident_id"), e.get("kind")) in expected
        )
    row: dict[str, object] = {
        "fault": fault,
        "published": len(published),
        "stored": len(stored & published),
        "duplicates": duplicates,
        "lost": len(published - stored),
        "unexpected": len(stored - published),
        "alerts_expected": len(expected),
        "alerts_raised": len(raised),
        "alert_repeats": sum(c - 1 for _, _, c in raised),
        "alerts_delivered": delivered,
        "delivery_repeats": repeats,
        "delivered_out_of_order": out_of_order,
        "out_of_order_examples": examples,
        "delivered_by_catch_up": replayed,
        "recovery_s": round(recovery_s, 2),
        "lost_messages": platform.load.describe(published - stored)[:20],
        "outage_s": outage_s,
        "broken_at": time.strftime("%H:%M:%S", time.gmtime(broken_at)),
        "mended_at": time.strftime("%H:%M:%S", time.gmtime(mended_at)),
    }
    ROWS.append(row)
    return row


def check(row: dict[str, object]) -> None:
    """Nothing lost, nothing doubled, every fall alerted once and seen on every backend."""
    assert row["lost"] == 0, row
    assert row["duplicates"] == 0 and row["unexpected"] == 0, row
    assert row["alerts_raised"] == row["alerts_expected"], row
    assert row["alert_repeats"] == 0, row
    assert row["alerts_delivered"] == row["alerts_expected"], row


def check_each_client_once(row: dict[str, object], *, in_order: bool = False) -> None:
    """And each watcher got each alert once (by event id); `in_order`: in the ids' order.

    Order is asserted where one backend relays (a failover's catch-up): two backends relaying
    at once can deliver a higher id a few milliseconds before a lower one (docs/realtime.md).
    """
    check(row)
    assert row["delivery_repeats"] == 0, row
    if in_order:
        assert row["delivered_out_of_order"] == 0, row


async def _restart(platform: Platform, name: str, after_s: float = 0.0) -> None:
    await asyncio.sleep(after_s)
    platform.services[name].start()


async def test_gateway_killed_and_restarted(platform: Platform) -> None:
    # One gateway, subscribed plainly, carries the whole load until the last row.
    async def kill() -> None:
        platform.services["gateway-1"].kill()

    async def mend() -> None:
        platform.services["gateway-1"].start()

    row = await run_row(platform, "gateway killed, restarted", break_=kill, mend=mend, outage_s=3)
    check(row)


async def test_broker_restarted(platform: Platform) -> None:
    async def stop() -> None:
        await asyncio.to_thread(platform.broker.stop)

    async def start() -> None:
        await asyncio.to_thread(platform.broker.start)

    row = await run_row(platform, "mosquitto restarted", break_=stop, mend=start, outage_s=3)
    check(row)


async def test_postgres_stopped_30s(platform: Platform) -> None:
    async def stop() -> None:
        await asyncio.to_thread(platform.pg.stop, "fast")

    async def start() -> None:
        await asyncio.to_thread(platform.pg.start)

    row = await run_row(platform, "postgresql stopped 30 s", break_=stop, mend=start, outage_s=30)
    check(row)


async def test_redis_killed_and_restarted(platform: Platform) -> None:
    async def kill() -> None:
        platform.redis.kill()

    async def start() -> None:
        await asyncio.to_thread(platform.redis.start)

    row = await run_row(platform, "redis killed, restarted", break_=kill, mend=start, outage_s=3)
    check(row)


async def test_inference_worker_killed(platform: Platform) -> None:
    async def kill() -> None:
        platform.services["inference-1"].kill()

    async def mend() -> None:
        platform.services["inference-1"].start()

    row = await run_row(platform, "one inference worker killed", break_=kill, mend=mend, outage_s=3)
    check(row)


async def test_one_of_two_gateways_killed(platform: Platform) -> None:
    await _use_shared_gateways(platform)

    async def kill() -> None:
        platform.services["gateway-shared-1"].kill()

    async def mend() -> None:
        platform.services["gateway-shared-1"].start()

    row = await run_row(platform, "one of two gateways killed", break_=kill, mend=mend, outage_s=5)
    check(row)


async def test_inference_killed_with_windowed_rule_pending(platform: Platform) -> None:
    # A resident has been in the bathroom for a while (limit set to 5 min, the rule's
    # smallest); the windowed rules judged it pending at least once; then an inference
    # worker dies 20 s before the limit passes and stays dead for 100 s, longer than the
    # rules' period (60 s): the limit passes while it is dead, and the alert must be
    # raised once and reach every watcher.
    [home_index] = platform.take_quiet_homes(1)
    home, agent = platform.homes[home_index], platform.agents[home_index]
    resident = home.resident_id
    await _set_threshold(platform, resident, "long_bathroom_stay", {"max_minutes": 5})
    limit_ms = 5 * 60_000
    entered_ms = time.time_ns() // 1_000_000 - (limit_ms - 120_000)
    published_at = time.time()
    stay = asyncio.create_task(_bathroom_stay(agent, entered_ms=entered_ms))

    async def judged_pending() -> bool:
        rows = await platform.fetch(
            "SELECT evaluated_until FROM detection_schedule WHERE resident_id = $1", resident
        )
        return bool(rows) and rows[0][0].timestamp() > published_at + 1

    async def kill() -> None:
        await wait_async(judged_pending, 90, "the bathroom stay to be judged (pending)")
        due_in = (entered_ms + limit_ms) / 1000 - time.time()
        assert due_in > 20, f"judged too late to kill before the limit ({due_in:.0f} s)"
        await asyncio.sleep(due_in - 20)
        platform.services["inference-1"].kill()

    async def mend() -> None:
        platform.services["inference-1"].start()

    try:
        row = await run_row(
            platform,
            "inference killed, windowed rule due",
            break_=kill,
            mend=mend,
            outage_s=100,
            expect=[(resident, AlertKind.LONG_BATHROOM_STAY.value)],
        )
    finally:
        stay.cancel()
    row["windowed_raised_by"] = _who_logged(
        platform, f"long_bathroom_stay for resident {resident}:"
    )
    row["windowed_due_at"] = time.strftime("%H:%M:%S", time.gmtime((entered_ms + limit_ms) / 1000))
    check_each_client_once(row)


async def test_backend_killed_clients_fail_over(platform: Platform) -> None:
    # backend-1's watcher loses its socket, connects to backend-2 with its last event id
    # (after a browser-like pause, so the falls are relayed while it is away) and must get
    # each fall once, in order, through the catch-up.
    watcher = platform.watchers[0]
    watcher.reconnect_delay_s = 5.0
    connections = len(watcher.connected_to)

    async def kill() -> None:
        platform.services["backend-1"].kill()

    async def mend() -> None:
        platform.services["backend-1"].start()
        await wait_async(lambda: _ready(platform.backends[0]), 60, "backend-1 to be ready")

    try:
        row = await run_row(
            platform, "one of two backends killed", break_=kill, mend=mend, outage_s=10
        )
    finally:
        watcher.reconnect_delay_s = 0.5
    row["failed_over_to"] = watcher.connected_to[connections:]
    check_each_client_once(row, in_order=True)
    assert row["failed_over_to"] == [platform.backends[1]], row
    assert row["delivered_by_catch_up"] == row["alerts_expected"], row


async def test_scale_out_shares_the_work(platform: Platform) -> None:
    # Two gateways on the shared subscription, two inference workers, two backends, nothing
    # broken: each instance must do a real part of the work, and the counts stay exact.
    await _use_shared_gateways(platform)
    falls = 8
    before = {name: await _metric(url, _STORED) for name, url in platform.gateway_metrics.items()}
    relayed_before = [await _metric(f"{b}/metrics", _RELAYED) for b in platform.backends]
    log_sizes = {n: _log_size(platform, n) for n in ("inference-1", "inference-2")}

    async def nothing() -> None:
        pass

    row = await run_row(
        platform,
        "scale-out: 2 of each, nothing broken",
        break_=nothing,
        mend=nothing,
        outage_s=falls * 1.0,
        falls=falls,
        fall_every_s=1.0,
    )
    stored = {
        name: int(await _metric(url, _STORED) - before[name])
        for name, url in platform.gateway_metrics.items()
    }
    relayed = [
        int(await _metric(f"{b}/metrics", _RELAYED) - was)
        for b, was in zip(platform.backends, relayed_before, strict=True)
    ]
    falls_by_worker = {
        n: _log_since(platform, n, log_sizes[n]).count(" fall for resident ")
        for n in ("inference-1", "inference-2")
    }
    row["stored_by_gateway"] = stored
    row["falls_by_inference_worker"] = falls_by_worker
    row["alerts_relayed_by_backend"] = dict(zip(("backend-1", "backend-2"), relayed, strict=True))
    row["inference_consumers"] = await _consumers(platform)
    check_each_client_once(row)
    total = sum(stored.values())
    # Every reading the gateways stored in the row is in the table; each did a fifth at least.
    assert all(n >= total / 5 for n in stored.values()), row
    assert sum(falls_by_worker.values()) == falls, row
    assert all(n >= 1 for n in falls_by_worker.values()), row
    assert sum(relayed) >= falls and all(n >= 1 for n in relayed), row


_STORED = 'sst_gateway_readings_total{outcome="stored"}'
_RELAYED = 'sst_live_relayed_total{stream="alerts"}'


async def _metric(url: str, sample: str) -> float:
    """One sample of a Prometheus text page (0 when the series does not exist yet)."""
    async with httpx.AsyncClient(timeout=5) as client:
        page = (await client.get(url)).text
    for line in page.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


async def _ready(base: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            return (await client.get(f"{base}/ready")).status_code == 200
    except httpx.TransportError:
        return False


async def _consumers(platform: Platform) -> dict[str, dict[str, int]]:
    """XINFO CONSUMERS of the inference group on the urgent stream: pending per worker."""
    redis = Redis.from_url(platform.redis.url)
    try:
        consumers = await redis.xinfo_consumers(URGENT_STREAM, INFERENCE_GROUP)
    finally:
        await redis.aclose()
    return {
        c["name"].decode(): {"pending": int(c["pending"]), "idle_ms": int(c["idle"])}
        for c in consumers
    }


def _log_size(platform: Platform, name: str) -> int:
    path = ARTIFACTS / f"{platform.services[name].name}.log"
    return path.stat().st_size if path.exists() else 0


def _log_since(platform: Platform, name: str, offset: int) -> str:
    path = ARTIFACTS / f"{platform.services[name].name}.log"
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _who_logged(platform: Platform, needle: str) -> list[str]:
    """Which inference processes logged a line containing `needle`."""
    return [
        name for name in ("inference-1", "inference-2") if needle in _log_since(platform, name, 0)
    ]


async def _set_threshold(
    platform: Platform, resident_id: int, rule: str, params: dict[str, float]
) -> None:
    """Set a resident's own limit through the API, as a facility admin does."""
    async with httpx.AsyncClient(base_url=platform.backends[1], timeout=10) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": platform.admin_email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        response = await http.put(
            f"/api/v1/residents/{resident_id}/thresholds/{rule}",
            json={"params": params},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
    assert response.status_code == 200, response.text


async def _bathroom_stay(agent: HubAgent, *, entered_ms: int) -> None:
    """The resident went from the kitchen into the bathroom and stays there (its motion
    sensor sees them every 5 s); the first two readings arrive late, as a hub's buffer.

    The hub says it is online first (the suite's hubs send no presence otherwise): the
    rules judge no absence in a home whose hub is offline or unknown."""
    agent.heartbeat()
    agent.publish_readings(
        [("kitchen-motion", entered_ms - 10_000, 1.0), ("bathroom-motion", entered_ms, 1.0)]
    )
    while True:
        await asyncio.sleep(5)
        agent.publish_readings([("bathroom-motion", time.time_ns() // 1_000_000, 1.0)])


async def _use_shared_gateways(platform: Platform) -> None:
    """Move from the single gateway to two on one shared subscription (once)."""
    # They subscribe first, then the single gateway leaves and its persistent session is
    # discarded (for a moment both receive, which the idempotent writes absorb).
    if platform.services["gateway-shared-1"].process is not None:
        return
    for name in ("gateway-shared-1", "gateway-shared-2"):
        platform.services[name].start()
    for name in ("gateway-shared-1", "gateway-shared-2"):
        await wait_async(
            lambda name=name: _subscribed(platform.services[name].name), 60, f"{name} to subscribe"
        )
    platform.services["gateway-1"].stop()
    await asyncio.to_thread(_discard_session, platform, "faults-gateway-1")


async def _subscribed(log_name: str) -> bool:
    log = ARTIFACTS / f"{log_name}.log"
    if not log.exists():
        return False
    return "subscribed to" in log.read_text(errors="replace").split("--- start")[-1]


def _discard_session(platform: Platform, client_id: str) -> None:
    """End a persistent session for good: connect once with clean_session=True."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.username_pw_set("sst-gateway", platform.broker.gateway_password)
    client.connect("127.0.0.1", platform.broker.port)
    client.loop_start()
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
