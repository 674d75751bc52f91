"""Per-hub token buckets: a hub over its budget has its excess messages refused, in aggregate.

Every hub serial has two buckets, messages/s and readings/s, each with a burst. A message
passes when both hold enough for it. Otherwise it is refused: acknowledged with its batch
(else the broker would deliver it again, forever) and counted, but not stored. A flood
must not become a flood of dead-letter rows, so refusals are summed per hub and reported
in at most one row per hub per interval ("rate limited: N messages refused since ..."),
written with the batch that is being stored when the row falls due.

A well-formed event (fall, emergency button, smoke) always passes; it spends the tokens
that are left, so a hub that floods events slows its own telemetry, never its alarms.
Messages whose topic names no valid serial share a bucket per raw topic segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sst_core.const import EVENTS
from sst_hub_gateway.batch import ParsedMessage
from sst_hub_gateway.mqtt import InboundMessage
from sst_hub_gateway.parsing import Rejection
from sst_hub_gateway.settings import GatewaySettings

RATE_LIMITED = "rate_limited"


@dataclass(slots=True)
class _Budget:
    """One hub's buckets and what it had refused since its last report row."""

    messages: float
    readings: float
    stamp: float  # monotonic time the buckets were last refilled
    refused: int = 0
    refused_readings: int = 0
    sample: ParsedMessage | None = None  # the first refused message not yet reported
    reported_at: float | None = None  # monotonic time of the last report row


@dataclass(slots=True)
class Admission:
    """What a batch keeps after the rate limit, and what it refused."""

    store: list[ParsedMessage] = field(default_factory=list)  # admitted + due report rows
    refused_messages: int = 0
    refused_readings: int = 0


class RateLimiter:
    """Token buckets per hub serial, with aggregated dead letters for what they refuse."""

    def __init__(
        self,
        *,
        messages_per_s: float,
        messages_burst: int,
        readings_per_s: float,
        readings_burst: int,
        report_interval_s: float,
    ) -> None:
        self._msg_rate, self._msg_burst = messages_per_s, float(messages_burst)
        self._rd_rate, self._rd_burst = readings_per_s, float(readings_burst)
        self._interval = report_interval_s
        self._budgets: dict[str, _Budget] = {}
        self._pending: set[str] = set()  # keys with refusals not yet reported
        self._swept_at: float | None = None
        self.enabled = messages_per_s > 0 or readings_per_s > 0
        self.limits = (
            f"per hub {messages_per_s:g} messages/s (burst {messages_burst}), "
            f"{readings_per_s:g} readings/s (burst {readings_burst})"
        )

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RateLimiter:
        """A limiter configured by the gateway's settings."""
        return cls(
            messages_per_s=settings.rate_limit_messages_per_s,
            messages_burst=settings.rate_limit_messages_burst,
            readings_per_s=settings.rate_limit_readings_per_s,
            readings_burst=settings.rate_limit_readings_burst,
            report_interval_s=settings.rate_limit_report_interval_s,
        )

    def apply(self, batch: list[ParsedMessage], now: float, *, final: bool = False) -> Admission:
        """Split a batch into what to store and what to refuse; add the report rows now due."""
        admission = Admission()
        if not self.enabled:
            admission.store = batch[:]  # report rows may still be added below
        else:
            for parsed in batch:
                self._admit(parsed, now, admission)
        if self._pending:
            admission.store.extend(self._reports(now, final=final))
        if self._swept_at is None:
            self._swept_at = now
        elif now - self._swept_at >= self._interval:
            self._sweep(now)
        return admission

    def due(self, now: float) -> bool:
        """True when a report row waits and its interval has passed (an idle gateway writes it)."""
        return any(self._is_due(self._budgets[key], now) for key in self._pending)

    @property
    def pending(self) -> bool:
        """True while some refusals are not yet in a dead-letter row."""
        return bool(self._pending)

    # -- internals ----------------------------------------------------------------------

    def _admit(self, parsed: ParsedMessage, now: float, admission: Admission) -> None:
        key = parsed.hub_serial if parsed.hub_serial is not None else _topic_key(parsed.inbound)
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = _Budget(self._msg_burst, self._rd_burst, now)
        elif budget.stamp != now:
            elapsed = now - budget.stamp
            budget.messages = min(self._msg_burst, budget.messages + elapsed * self._msg_rate)
            budget.readings = min(self._rd_burst, budget.readings + elapsed * self._rd_rate)
            budget.stamp = now
        readings = parsed.readings  # None unless accepted as telemetry or an event
        if readings is None:
            cost = 0  # status, or a message refused anyway: counts as a message only
        elif parsed.kind == EVENTS:  # urgent: spends what is left, never refused
            budget.messages = max(0.0, budget.messages - 1)
            budget.readings = max(0.0, budget.readings - 1)
            admission.store.append(parsed)
            return
        else:
            cost = len(readings)
        fits_messages = self._msg_rate <= 0 or budget.messages >= 1
        fits_readings = self._rd_rate <= 0 or budget.readings >= cost
        if fits_messages and fits_readings:
            budget.messages -= 1
            budget.readings -= cost
            admission.store.append(parsed)
            return
        budget.refused += 1
        budget.refused_readings += cost
        if budget.sample is None:
            budget.sample = parsed
        self._pending.add(key)
        admission.refused_messages += 1
        admission.refused_readings += cost

    def _is_due(self, budget: _Budget, now: float) -> bool:
        return budget.reported_at is None or now - budget.reported_at >= self._interval

    def _reports(self, now: float, *, final: bool) -> list[ParsedMessage]:
        rows = []
        for key in list(self._pending):
            budget = self._budgets[key]
            if not (final or self._is_due(budget, now)):
                continue
            assert budget.sample is not None
            rows.append(self._report_row(budget, budget.sample))
            budget.refused = budget.refused_readings = 0
            budget.sample = None
            budget.reported_at = now
            self._pending.discard(key)
        return rows

    def _report_row(self, budget: _Budget, sample: ParsedMessage) -> ParsedMessage:
        first = sample.inbound
        n = budget.refused
        since = datetime.fromtimestamp(first.received_at, tz=UTC)
        reason = (
            f"rate limited: {n} message{'s' if n != 1 else ''} "
            f"({budget.refused_readings} readings) refused since "
            f"{since.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}; "
            f"limit {self.limits}"
        )
        # QoS 0 and no session: the row is not a broker message, so nothing acknowledges it.
        row = InboundMessage(first.topic, first.payload, 0, 0, -1, first.received_at)
        return ParsedMessage(row, sample.hub_serial, rejection=Rejection(RATE_LIMITED, reason))

    def _sweep(self, now: float) -> None:
        """Forget hubs whose buckets are full again and that have nothing to report."""
        self._swept_at = now
        refill = max(
            self._msg_burst / self._msg_rate if self._msg_rate > 0 else 0.0,
            self._rd_burst / self._rd_rate if self._rd_rate > 0 else 0.0,
        )
        idle = max(refill, self._interval)
        stale = [
            key
            for key, budget in self._budgets.items()
            if key not in self._pending
            and now - budget.stamp >= idle
            and (budget.reported_at is None or now - budget.reported_at >= self._interval)
        ]
        for key in stale:
            del self._budgets[key]


def _topic_key(inbound: InboundMessage) -> str:
    # '?' is never part of a valid serial, so these keys cannot collide with a real hub.
    parts = inbound.topic.split("/", 4)
    return "?" + (parts[3] if len(parts) > 3 else inbound.topic)[:64]
