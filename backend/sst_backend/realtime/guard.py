"""Catch-up without gaps, duplicates or reordering, for one socket at a time.

A socket that resumes is already in its rooms when its missed events are read from the
log, so nothing committed meanwhile can slip between the two. While it replays, live
events for it are held back; when the replay ends they are sent in order, minus those the
replay already sent, and for a while after that a late live copy of a replayed event is
dropped. The hook sits where each backend instance delivers to its own sockets (the
Socket.IO manager), so it works whichever instance or process emitted the event.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# How long after a replay a live copy of a replayed event can still arrive (an emitter
# that committed before the replay read the log but had not yet emitted).
_AFTERGLOW_S = 60.0


@dataclass
class _Hold:
    replaying: bool = True
    held: list[tuple[str, Any]] = field(default_factory=list)
    sent: set[int] = field(default_factory=set)
    until: float = 0.0


def event_id_of(data: Any) -> int | None:
    """The live-event id in an event's data, if it has one."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, dict):
        value = data.get("event_id")
        if isinstance(value, int):
            return value
    return None


class ReplayGuard:
    """Holds and filters live events of sockets that are catching up."""

    def __init__(self) -> None:
        self._holds: dict[str, _Hold] = {}

    @property
    def active(self) -> bool:
        """Whether any socket is catching up (or just did): the fast path checks this."""
        return bool(self._holds)

    def begin(self, sid: str) -> None:
        """From now on, hold live events for `sid` until `end` (a hold in place stays)."""
        hold = self._holds.get(sid)
        if hold is None or not hold.replaying:
            self._holds[sid] = _Hold()

    def replayed(self, sid: str, event_id: int) -> None:
        """The replay sent `event_id` to `sid`."""
        hold = self._holds.get(sid)
        if hold is not None:
            hold.sent.add(event_id)

    def end(self, sid: str) -> list[tuple[str, Any]]:
        """Stop holding; the held live events not yet sent, oldest id first."""
        hold = self._holds.get(sid)
        if hold is None:
            return []
        hold.replaying = False
        hold.until = time.monotonic() + _AFTERGLOW_S
        fresh: dict[int, tuple[str, Any]] = {}
        unnumbered: list[tuple[str, Any]] = []
        for event, data in hold.held:
            event_id = event_id_of(data)
            if event_id is None:
                unnumbered.append((event, data))
            elif event_id not in hold.sent:
                fresh[event_id] = (event, data)
        hold.held = []
        hold.sent.update(fresh)
        return [fresh[i] for i in sorted(fresh)] + unnumbered

    def forget(self, sid: str) -> None:
        """The socket is gone."""
        self._holds.pop(sid, None)

    def skip(self, event: str, data: Any, participants: Iterable[str]) -> list[str]:
        """Sockets among `participants` that must not get this live event now."""
        if not self._holds:
            return []
        now = time.monotonic()
        event_id = event_id_of(data)
        skipped = []
        for sid in participants:
            hold = self._holds.get(sid)
            if hold is None:
                continue
            if hold.replaying:
                hold.held.append((event, data))
                skipped.append(sid)
            elif now > hold.until:
                del self._holds[sid]
            elif event_id is not None and event_id in hold.sent:
                skipped.append(sid)
        return skipped
