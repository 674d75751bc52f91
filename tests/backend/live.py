"""A Socket.IO test client that records every event it receives, in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import socketio


class LiveClient:
    """A python-socketio client; `events` holds (event, data) in arrival order."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each event
        self._changed = asyncio.Event()

        @self.sio.on("*")
        async def anything(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            self.arrivals.append(time.monotonic())
            self._changed.set()

    async def connect(self, url: str, **auth: Any) -> LiveClient:
        """Connect with `auth` (token, join, last_event_id)."""
        await self.sio.connect(url, auth=auth, wait_timeout=10, transports=["websocket"])
        return self

    async def close(self) -> None:
        """Disconnect."""
        if self.sio.connected:
            await self.sio.disconnect()

    def of(self, event: str) -> list[Any]:
        """Data of every `event` received so far."""
        return [data for name, data in self.events if name == event]

    async def wait_for(
        self, predicate: Callable[[list[tuple[str, Any]]], bool], within: float = 10.0
    ) -> None:
        """Wait until `predicate(events)` holds."""

        async def check() -> None:
            while not predicate(self.events):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(check(), within)
        except TimeoutError:
            # Say what did arrive, so a failure on a loaded machine can be told apart.
            raise AssertionError(
                f"not seen within {within} s; {len(self.events)} events received, the last "
                f"ones (oldest first): {[_short(e, d) for e, d in self.events[-5:]]}"
                f"; connected: {self.sio.connected}"
            ) from None

    async def first(self, event: str, within: float = 10.0, **match: Any) -> Any:
        """The first `event` whose data has the `match` fields, waiting for it."""

        def found(events: list[tuple[str, Any]]) -> bool:
            return any(self._matches(e, d, event, match) for e, d in events)

        await self.wait_for(found, within)
        return next(d for e, d in self.events if self._matches(e, d, event, match))

    @staticmethod
    def _matches(name: str, data: Any, event: str, match: dict[str, Any]) -> bool:
        return (
            name == event
            and isinstance(data, dict)
            and all(data.get(k) == v for k, v in match.items())
        )

    async def call(self, action: str, data: Any, within: float = 10.0) -> Any:
        """Send an action and return its acknowledgement."""
        return await self.sio.call(action, data, timeout=within)


def fall_alert_payload(resident_id: int, facility_id: int, alert_id: int) -> dict[str, Any]:
    """An `alert` event's payload for an open fall, as the relay puts it on the live feed."""
    now = datetime.now(UTC).isoformat()
    return {
        "id": alert_id,
        "resident_id": resident_id,
        "facility_id": facility_id,
        "kind": "fall",
        "severity": "critical",
        "state": "open",
        "title": "Fall detected",
        "explanation": "Fall detected in the Bathroom.",
        "count": 1,
        "opened_at": now,
        "last_seen_at": now,
    }


def _short(event: str, data: Any, limit: int = 300) -> str:
    text = f"{event} {data!r}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
