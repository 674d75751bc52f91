"""A steady, bounded load of QoS 1 readings from simulated hubs, with a ledger of each one.

Every hub publishes batches of readings of its kettle's power meter (a sensor no rule
watches, so the load raises no alert of its own). Each reading's value is a number unique
in the whole run, so the suite can tell, for any stretch of the run, exactly which
readings were published, which are stored, and whether any is stored twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sst_devices.hub_agent import HubAgent

LOAD_SENSOR = "kettle-plug"


@dataclass
class Ledger:
    """What was handed to the hubs' MQTT clients (QoS 1), by unique value."""

    values: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> int:
        """The next value to be published: where a stretch of the run begins."""
        with self.lock:
            return (self.values[-1] + 1) if self.values else 0

    def between(self, start: int, end: int) -> list[int]:
        with self.lock:
            return [v for v in self.values if start <= v < end]


@dataclass
class Load:
    """`hubs` hubs, each sending `per_message` readings `messages_per_s` times a second."""

    agents: Sequence[HubAgent]
    messages_per_s: float = 5.0
    per_message: int = 10
    ledger: Ledger = field(default_factory=Ledger)
    _next: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_ts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # First value of each message -> (hub serial, when it was handed to MQTT): to say, of
    # a lost reading, which hub sent it and when.
    origin: dict[int, tuple[str, float]] = field(default_factory=dict)

    def describe(self, values: set[int]) -> list[str]:
        """Which messages (hub, time) the given values were sent in."""
        firsts = sorted({v - (v % self.per_message) for v in values})
        out = []
        for first in firsts:
            serial, at = self.origin.get(first, ("?", 0.0))
            stamp = time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}"
            out.append(f"{first}..{first + self.per_message - 1} from {serial} at {stamp}")
        return out

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fault-load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def flush(self, timeout: float) -> None:
        """Wait until the broker acknowledged everything published so far."""
        deadline = time.monotonic() + timeout
        for agent in self.agents:
            agent.flush(max(0.1, deadline - time.monotonic()))

    def _run(self) -> None:
        period = 1.0 / self.messages_per_s
        tick = time.monotonic()
        while not self._stop.is_set():
            for agent in self.agents:
                self._send(agent)
            tick += period
            self._stop.wait(max(0.0, tick - time.monotonic()))

    def _send(self, agent: HubAgent) -> None:
        now = time.time_ns() // 1_000_000
        last = self._last_ts.get(agent.serial, 0)
        batch = []
        values = []
        for _ in range(self.per_message):
            # Strictly increasing per sensor, close to now: (sensor, time) is each reading's key.
            last = max(now, last + 1)
            batch.append((LOAD_SENSOR, last, float(self._next)))
            values.append(self._next)
            self._next += 1
        self._last_ts[agent.serial] = last
        self.origin[values[0]] = (agent.serial, time.time())
        try:
            agent.publish_readings(batch)
        except BufferError as exc:  # paho's queue is full: not published, not in the ledger
            self.errors.append(str(exc))
            return
        with self.ledger.lock:
            self.ledger.values.extend(values)
