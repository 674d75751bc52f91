"""`sst-sim`: the home simulator. Every hub in PostgreSQL gets a reference HubAgent and a life.

    sst-sim                                 # real time, until Ctrl-C
    sst-sim --speed 60 --duration 600       # ten hours of life in ten minutes, then stop
    sst-sim --once --window 120             # the last two hours of every home, in one burst
    sst-sim --hub hub-0042                  # only some hubs (repeat --hub)
    sst-sim event --hub hub-0042 --sensor fall-1     # a fall, now (or the button: button-1)

Readings are stamped with the simulated clock, which runs --speed times faster than the
wall clock but never ahead of it (the gateway refuses readings from the future): an
accelerated clock starts in the past, by default so that it reaches the present when
--duration ends (or a day back without --duration), and then goes on in real time. Give
--start to choose (not more than 365 days back: the gateway refuses older readings).
The database is only read, once at start; restart the simulator after adding hubs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime

from sst_core.db.session import make_engine
from sst_core.domain import SensorKind
from sst_core.logs import setup_logging
from sst_devices.homes import load_homes
from sst_devices.hub_agent import HubAgent
from sst_devices.life import SimHome, readings_between
from sst_devices.settings import DevicesSettings

log = logging.getLogger("sst.devices.sim")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _moment_ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2024-05-01T07:00:00+09:00")
    return int(moment.timestamp() * 1000)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of `sst-sim`."""
    parser = argparse.ArgumentParser(prog="sst-sim", description=__doc__.split("\n")[0])
    parser.add_argument("--hub", action="append", default=[], help="only this hub serial")
    parser.add_argument("--speed", type=_positive, default=1.0, help="simulated s per second")
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    parser.add_argument("--start", type=_moment_ms, default=None, help="simulated start (ISO)")
    parser.add_argument("--once", action="store_true", help="send the --window before --start")
    parser.add_argument("--window", type=float, default=60.0, help="minutes in a --once burst")
    parser.add_argument(
        "--backfill-hours",
        type=float,
        default=0.0,
        help="first send the homes' life of these hours before the start, at once",
    )
    parser.add_argument("--seed", type=int, default=None, help="overrides SST_SIM_SEED")
    parser.add_argument(
        "--wait-for",
        metavar="URL",
        default=None,
        help="publish nothing until this URL answers 200 (the gateway's /ready: what hubs "
        "publish before its first subscription is lost)",
    )
    parser.add_argument(
        "--wait-s", type=_positive, default=120.0, help="give up on --wait-for after S seconds"
    )
    commands = parser.add_subparsers(dest="command")
    event = commands.add_parser("event", help="publish one urgent event for a hub now")
    event.add_argument("--hub", dest="event_hub", required=True, help="hub serial")
    event.add_argument("--sensor", required=True, help="sensor key, e.g. fall-1 or button-1")
    event.add_argument("--value", type=float, default=1.0)
    return parser


def wait_until_ready(url: str, within_s: float, stop: threading.Event) -> bool:
    """Poll `url` until it answers 200; False after `within_s` or when stopped.

    A URL on port 0 is a gateway serving no metrics port (SST_METRICS_PORT=0), hence no
    /ready: nothing to wait for, said once.
    """
    if urllib.parse.urlsplit(url).port == 0:
        log.warning("%s: port 0 serves no /ready; publishing without waiting", url)
        return True
    deadline = time.monotonic() + within_s
    said = 0.0
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except urllib.error.HTTPError as answer:
            answer.close()  # 503: not subscribed yet (the error holds the connection open)
        except (urllib.error.URLError, OSError):
            pass  # not up yet
        now = time.monotonic()
        if now >= deadline:
            return False
        if now - said >= 10:
            said = now
            log.info("waiting for %s before publishing", url)
        stop.wait(0.5)
    return False


def publish_window(
    agents: dict[str, HubAgent], homes: Sequence[SimHome], start_ms: int, end_ms: int, seed: int
) -> int:
    """Publish every home's readings in [start_ms, end_ms); how many readings."""
    sent = 0
    for home in homes:
        readings = readings_between(home, start_ms, end_ms, seed)
        if readings:
            agents[home.hub_serial].publish_readings(readings)
            sent += len(readings)
    return sent


def run_clock(
    agents: dict[str, HubAgent],
    homes: Sequence[SimHome],
    *,
    start_ms: int,
    speed: float,
    duration: float | None,
    tick_s: float,
    seed: int,
    stop: threading.Event,
) -> int:
    """Publish life as the simulated clock advances, until `stop` or `duration`."""
    wall_start = time.monotonic()
    cursor, sent, last_report = start_ms, 0, wall_start
    while True:
        elapsed = time.monotonic() - wall_start
        done = stop.is_set() or (duration is not None and elapsed >= duration)
        if duration is not None:
            elapsed = min(elapsed, duration)
        sim_now = min(start_ms + int(elapsed * 1000 * speed), _now_ms())
        sent += publish_window(agents, homes, cursor, sim_now, seed)
        cursor = sim_now
        if time.monotonic() - last_report >= 60:
            last_report = time.monotonic()
            log.info("simulated clock %s; %d readings so far", _iso(cursor), sent)
        if done:
            return sent
        stop.wait(tick_s)


def default_start_ms(now_ms: int, speed: float, duration: float | None) -> int:
    """Where an accelerated clock starts so that it catches up with the present in time."""
    if speed <= 1:
        return now_ms
    if duration is None:
        return now_ms - 24 * 3600 * 1000
    return now_ms - int(duration * (speed - 1) * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _load(settings: DevicesSettings, serials: Sequence[str]) -> list[SimHome]:
    async def load() -> list[SimHome]:
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            return await load_homes(engine, serials)
        finally:
            await engine.dispose()

    return asyncio.run(load())


def send_event(settings: DevicesSettings, hub: str, sensor: str, value: float) -> None:
    """Publish one event as hub `hub`, on a side connection that leaves its presence alone."""
    agent = HubAgent.from_settings(
        hub, settings, client_id=f"sst-sim-event-{hub}-{time.time_ns()}", presence=False
    )
    agent.connect()
    try:
        agent.publish_event(sensor, _now_ms(), value)
        agent.flush()
    finally:
        agent.disconnect()


def battery_levels(home: SimHome, seed: int) -> dict[str, float]:
    """Plausible, repeatable battery levels of a home's wireless sensors (plugs have none)."""
    chance = random.Random(f"{seed}:{home.hub_serial}")
    return {
        sensor.key: float(chance.randint(35, 100))
        for sensor in home.sensors
        if sensor.kind != SensorKind.POWER
    }


def simulate(settings: DevicesSettings, args: argparse.Namespace) -> int:
    """Run the homes of the database (or of --hub) until done; an exit status."""
    homes = _load(settings, args.hub)
    if not homes:
        log.error("no hubs found in the database%s", f" among {args.hub}" if args.hub else "")
        return 1
    seed = settings.sim_seed if args.seed is None else args.seed
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.wait_for and not wait_until_ready(args.wait_for, args.wait_s, stop):
        if not stop.is_set():
            log.error(
                "%s did not answer 200 within %g s; nothing published", args.wait_for, args.wait_s
            )
        return 1
    agents = {home.hub_serial: HubAgent.from_settings(home.hub_serial, settings) for home in homes}
    for home in homes:
        agents[home.hub_serial].batteries = battery_levels(home, seed)
    try:
        for agent in agents.values():
            agent.connect()
        log.info("simulating %d homes", len(homes))
        if args.once:
            end_ms = args.start if args.start is not None else _now_ms()
            sent = publish_window(agents, homes, end_ms - int(args.window * 60_000), end_ms, seed)
        else:
            start_ms = args.start
            if start_ms is None:
                start_ms = default_start_ms(_now_ms(), args.speed, args.duration)
            sent = 0
            if args.backfill_hours > 0:
                # A platform started mid-morning would otherwise judge a morning it never
                # saw: "not up yet", for every resident, on the first start of the day.
                since_ms = start_ms - int(args.backfill_hours * 3_600_000)
                sent = publish_window(agents, homes, since_ms, start_ms, seed)
                log.info(
                    "sent %d readings of the %g hours before %s",
                    sent,
                    args.backfill_hours,
                    _iso(start_ms),
                )
            sent += run_clock(
                agents,
                homes,
                start_ms=start_ms,
                speed=args.speed,
                duration=args.duration,
                tick_s=settings.sim_tick_s,
                seed=seed,
                stop=stop,
            )
        for agent in agents.values():
            agent.flush(timeout=30)
        log.info("published %d readings for %d hubs", sent, len(homes))
        return 0
    finally:
        for agent in agents.values():
            if agent.connected:
                agent.disconnect()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `sst-sim`."""
    args = build_parser().parse_args(argv)
    settings = DevicesSettings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    try:
        if args.command == "event":
            send_event(settings, args.event_hub, args.sensor, args.value)
            log.info("event %s=%s sent for hub %s", args.sensor, args.value, args.event_hub)
            return 0
        return simulate(settings, args)
    except (ConnectionError, OSError) as exc:
        log.error("cannot reach the broker or the database: %s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
