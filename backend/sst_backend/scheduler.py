"""The backend's scheduler: escalation steps, reminders, deliveries and daily summaries.

Every backend instance may run one. The work is shared through PostgreSQL row locks
(SELECT ... FOR UPDATE SKIP LOCKED on due rows, and a short lease on deliveries being
sent), so two schedulers never act on the same row, and a restarted one resumes from
the rows where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.escalation import engine
from sst_backend.notifications import deliveries
from sst_backend.notifications.errors import DeliveryError
from sst_backend.notifications.sender import ChannelSender, Emit
from sst_backend.notifications.settings import AlertingSettings
from sst_backend.summaries.scheduled import queue_daily_summaries
from sst_core.db.models import NotificationDelivery

log = logging.getLogger("sst.backend.scheduler")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class TickReport:
    """What one pass (or, as `totals`, the whole life) of a scheduler did."""

    adopted: int = 0
    steps: int = 0
    started: int = 0
    summaries: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0


class Scheduler:
    """One scheduler loop; run it with `run(stop)` or drive it with `tick()` in tests."""

    def __init__(
        self,
        *,
        settings: AlertingSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        emit: Emit | None,
        clock: Clock = utc_now,
        batch: int = 100,
    ) -> None:
        self.settings, self.sessionmaker, self.clock, self.batch = (
            settings,
            sessionmaker,
            clock,
            batch,
        )
        self.sender = ChannelSender(settings, emit)
        self._next_summary_check = 0.0
        self.wake = asyncio.Event()
        self.totals = TickReport()
        self.outcomes: dict[int, str] = {}
        self._in_flight: set[asyncio.Task[None]] = set()

    async def tick(self) -> TickReport:
        """One pass: adopt new alerts, run due steps and reminders, send due deliveries."""
        report = TickReport()
        async with self.sessionmaker() as session, session.begin():
            report.adopted = await engine.adopt_new_alerts(
                session, settings=self.settings, now=self.clock()
            )
        async with self.sessionmaker() as session, session.begin():
            report.steps = await engine.process_due(
                session, settings=self.settings, now=self.clock(), limit=self.batch
            )
        report.started = await self._send_due()
        loop_time = asyncio.get_running_loop().time()
        if self.settings.daily_summary_enabled and loop_time >= self._next_summary_check:
            async with self.sessionmaker() as session, session.begin():
                report.summaries = await queue_daily_summaries(
                    session, settings=self.settings, now=self.clock(), limit=self.batch
                )
            # A full batch means more are waiting: look again next tick, else in a minute.
            if report.summaries < self.batch:
                self._next_summary_check = loop_time + 60
        for name in ("adopted", "steps", "started", "summaries"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(report, name))
        return report

    async def _send_due(self) -> int:
        """Claim due deliveries and send each in its own task; returns how many started.

        The tick does not wait for them: a channel that hangs until its timeout holds up
        neither the other deliveries nor the next steps and retries.
        """
        room = self.batch - len(self._in_flight)
        if room <= 0:
            return 0
        lease = 2 * self.settings.delivery_timeout_s + 30
        async with self.sessionmaker() as session, session.begin():
            claimed = await deliveries.claim_due(
                session, now=self.clock(), lease_s=lease, limit=room
            )
            secrets = await self.sender.webhook_secrets(session, claimed)
        for delivery in claimed:
            secret = secrets.get(delivery.recipient_user_id or 0)
            task = asyncio.create_task(self._deliver(delivery, secret))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claimed)

    async def _deliver(self, delivery: NotificationDelivery, secret: str | None) -> None:
        error, permanent = await self._attempt(delivery, secret)
        try:
            async with self.sessionmaker() as session, session.begin():
                state = await deliveries.record_outcome(
                    session,
                    delivery=delivery,
                    error=error,
                    permanent=permanent,
                    settings=self.settings,
                    now=self.clock(),
                )
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("could not record the outcome of delivery %s", delivery.id)
            return
        self.outcomes[delivery.id] = state
        counter = {"sent": "sent", "failed": "failed"}.get(state, "retrying")
        setattr(self.totals, counter, getattr(self.totals, counter) + 1)

    async def drain(self) -> None:
        """Wait for the deliveries being sent to finish and be recorded."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def _attempt(
        self, delivery: NotificationDelivery, secret: str | None
    ) -> tuple[str | None, bool]:
        try:
            await self.sender.send(delivery, secret=secret)
        except DeliveryError as exc:
            log.warning(
                "delivery %s (%s to %s) attempt %s failed: %s",
                delivery.id,
                delivery.channel,
                delivery.recipient,
                delivery.attempt,
                exc,
            )
            return str(exc), exc.permanent
        except Exception as exc:  # a bug in one channel must not stop the others
            log.exception("delivery %s crashed", delivery.id)
            return f"internal error: {type(exc).__name__}", False
        return None, False

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every `scheduler_interval_s` (or at once when woken) until `stop` is set."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # PostgreSQL away, say: log, wait, go on
                    log.exception("scheduler tick failed; retrying")
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        _first(stop, self.wake), timeout=self.settings.scheduler_interval_s
                    )
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), timeout=self.settings.delivery_timeout_s + 2)
            # Whatever is still in flight is abandoned; its lease lets another scheduler retry.
            for task in list(self._in_flight):
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self.sender.aclose()


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
