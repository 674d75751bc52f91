"""`sst-sim` as a process: homes from PostgreSQL, life on the real broker, injected events."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
import threading
import time
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.const import hub_topic
from sst_core.messages import EventIn, StatusIn, TelemetryIn
from sst_devices.homes import load_homes
from sst_devices.life import readings_between
from tests.conftest import MQTT_PASSWORD, MQTT_USERNAME
from tests.devices.conftest import Listener, Seen, clear_retained
from tests.factories import HomeFixture

START = "2024-05-07T03:00:00+09:00"  # 3 a.m. in Seoul, the fixture home's zone
START_MS = int(datetime.fromisoformat(START).timestamp() * 1000)


async def sst_sim(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the simulator as its own process with the test environment."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sst_devices.simulator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        # The simulator logs in as the run's devices account, as make run's does as sst-sim.
        env={**os.environ, "SST_MQTT_USERNAME": MQTT_USERNAME, "SST_MQTT_PASSWORD": MQTT_PASSWORD},
    )


def telemetry(seen: list[Seen], serial: str) -> list[tuple[str, int, float]]:
    return [
        (r.sensor, r.ts, r.value)
        for s in seen
        if s.topic == hub_topic(serial, "telemetry")
        for r in TelemetryIn.model_validate_json(s.payload).readings
    ]


async def test_a_burst_publishes_exactly_the_homes_life(
    engine: AsyncEngine, home: HomeFixture, listen: type[Listener]
) -> None:
    listener = listen(f"sst/v1/hubs/{home.hub_serial}/#")
    try:
        done = await sst_sim(
            "--once", "--window", "600", "--start", START, "--seed", "4", "--hub", home.hub_serial
        )
        assert done.returncode == 0, done.stderr
        seen = listener.quiet(1.0)
    finally:
        clear_retained(hub_topic(home.hub_serial, "status"))

    statuses = [
        StatusIn.model_validate_json(s.payload) for s in seen if s.topic.endswith("/status")
    ]
    assert [s.online for s in statuses] == [True, False]
    [sim_home] = await load_homes(engine, [home.hub_serial])
    assert sim_home.timezone == home.timezone
    assert {s.key for s in sim_home.sensors} == set(home.sensors)
    expected = readings_between(sim_home, START_MS - 600 * 60_000, START_MS, seed=4)
    published = telemetry(seen, home.hub_serial)
    assert published == expected
    # 17:00 to 03:00 in Seoul: the evening at home, and in bed by the end.
    beds = [v for k, _, v in published if k == "bed-pressure"]
    assert beds[-1] == 1.0
    assert any(k == "living-temp" for k, _, _ in published)


async def test_accelerated_clock_stops_on_its_own(
    home: HomeFixture, listen: type[Listener]
) -> None:
    listener = listen(hub_topic(home.hub_serial, "telemetry"))
    began = time.monotonic()
    try:
        done = await sst_sim(
            "--speed", "3600", "--duration", "3", "--start", START, "--hub", home.hub_serial
        )
    finally:
        clear_retained(hub_topic(home.hub_serial, "status"))
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < 60
    published = telemetry(listener.quiet(1.0), home.hub_serial)
    times = [t for _, t, _ in published]
    assert times and min(times) >= START_MS
    assert max(times) < START_MS + 3 * 3600 * 1000  # three simulated hours, no more
    assert max(times) > START_MS + 2 * 3600 * 1000


async def test_accelerated_clock_catches_up_with_the_present_never_passes_it(
    home: HomeFixture, listen: type[Listener]
) -> None:
    listener = listen(hub_topic(home.hub_serial, "telemetry"))
    began_ms = time.time() * 1000
    try:
        done = await sst_sim("--speed", "3600", "--duration", "2", "--hub", home.hub_serial)
    finally:
        clear_retained(hub_topic(home.hub_serial, "status"))
    ended_ms = time.time() * 1000
    assert done.returncode == 0, done.stderr
    times = [t for _, t, _ in telemetry(listener.quiet(1.0), home.hub_serial)]
    # The gateway refuses readings from the future: two wall seconds at 3600x replay
    # the two hours before now.
    assert times and max(times) <= ended_ms
    assert min(times) >= began_ms - 2 * 3600 * 1000 - 5000
    assert max(times) >= began_ms - 30 * 60 * 1000


async def test_event_subcommand_publishes_a_fall_now(
    home: HomeFixture, listen: type[Listener]
) -> None:
    listener = listen(f"sst/v1/hubs/{home.hub_serial}/#")
    before = time.time() * 1000
    done = await sst_sim("event", "--hub", home.hub_serial, "--sensor", "fall-1")
    assert done.returncode == 0, done.stderr
    seen = listener.quiet(1.0)
    assert [s.topic for s in seen] == [hub_topic(home.hub_serial, "events")]
    event = EventIn.model_validate_json(seen[0].payload)
    assert (event.sensor, event.value) == ("fall-1", 1.0)
    assert before - 1000 <= event.ts <= time.time() * 1000


async def test_unknown_hub_is_an_error_not_a_silent_run(home: HomeFixture) -> None:
    done = await sst_sim("--once", "--hub", "no-such-hub-anywhere")
    assert done.returncode == 1
    assert "no hubs found" in done.stderr


async def test_backfill_sends_the_hours_before_then_goes_on_live(
    engine: AsyncEngine, home: HomeFixture, listen: type[Listener]
) -> None:
    listener = listen(hub_topic(home.hub_serial, "telemetry"))
    began_ms = int(time.time() * 1000)
    try:
        done = await sst_sim(
            "--backfill-hours", "3", "--duration", "2", "--seed", "4", "--hub", home.hub_serial
        )
    finally:
        clear_retained(hub_topic(home.hub_serial, "status"))
    ended_ms = int(time.time() * 1000)
    assert done.returncode == 0, done.stderr
    published = telemetry(listener.quiet(1.0), home.hub_serial)
    [sim_home] = await load_homes(engine, [home.hub_serial])
    # The three hours before the start, exactly the home's life then (the start is a few
    # hundred ms after `began_ms`: compare what lies well inside the window).
    inside = [r for r in published if r[1] < began_ms - 1000]
    expected = readings_between(sim_home, began_ms - 3 * 3600 * 1000 + 5000, began_ms - 1000, 4)
    assert len(expected) >= 30  # temperatures every 5 minutes at least
    assert set(expected) <= set(inside)
    assert min(t for _, t, _ in published) >= began_ms - 3 * 3600 * 1000 - 5000
    assert max(t for _, t, _ in published) <= ended_ms


class _Gate(http.server.BaseHTTPRequestHandler):
    """A /ready that answers 503 until `opened_at`, then 200 (a gateway subscribing late)."""

    opened_at = 0.0
    asked: list[int] = []

    def do_GET(self) -> None:
        ready = time.monotonic() >= self.opened_at
        self.asked.append(200 if ready else 503)
        self.send_response(200 if ready else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


async def test_it_publishes_nothing_until_the_gateway_says_ready(
    home: HomeFixture, listen: type[Listener]
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ready"
    listener = listen(hub_topic(home.hub_serial, "telemetry"))
    _Gate.asked = []
    _Gate.opened_at = time.monotonic() + 2.0
    try:
        run = asyncio.create_task(
            sst_sim(
                "--backfill-hours", "3", "--duration", "1", "--seed", "4",
                "--hub", home.hub_serial, "--wait-for", url,
            )
        )  # fmt: skip
        await asyncio.sleep(1.5)
        assert listener.messages.empty(), "published before the gateway was ready"
        done = await run
        assert done.returncode == 0, done.stderr
        assert telemetry(listener.quiet(1.0), home.hub_serial), "nothing published once ready"
        assert 503 in _Gate.asked and _Gate.asked[-1] == 200, _Gate.asked
        # A gateway that never gets ready: nothing is published, and the run says why.
        _Gate.opened_at = float("inf")
        never = await sst_sim(
            "--once", "--hub", home.hub_serial, "--wait-for", url, "--wait-s", "1"
        )
        assert never.returncode == 1
        assert "did not answer 200 within 1 s; nothing published" in never.stderr
        # A gateway without a metrics port (SST_METRICS_PORT=0, as the Procfile then asks):
        # nothing to wait for.
        unserved = await sst_sim(
            "--once", "--hub", home.hub_serial, "--wait-for", "http://127.0.0.1:0/ready"
        )
        assert unserved.returncode == 0, unserved.stderr
        assert "port 0 serves no /ready; publishing without waiting" in unserved.stderr
    finally:
        server.shutdown()
        server.server_close()
        clear_retained(hub_topic(home.hub_serial, "status"))
