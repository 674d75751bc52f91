"""The windowed rules on a clock: each due resident, in one transaction, by one process.

State lives in PostgreSQL, next to the readings it is derived from (docs/detection.md,
"Hard rules"): `detection_schedule` says when a resident is next due and up to when it was
evaluated; a process takes a due resident with FOR UPDATE SKIP LOCKED, so several
processes share the residents without a shard map and never evaluate one resident twice
at the same time. In the same transaction it reads the resident's recent readings, judges
every rule at each instant since `evaluated_until` (catching up after a restart, at most
`max_catch_up`), steps the hysteresis, writes the alert rows and the new state. The alerts
stream hears about new and resolved alerts after the commit; an announcement lost to a
crash between the two is made by the next evaluation (the marker of alerts.py is missing):
a raise of the resident's windowed rules, or any automatic resolution of the resident in
the last day, the device alerts' included. A failed evaluation (a bug, bad data) leaves
`evaluated_until`, the `checked_at` carers read, where it was.
The rule-checks stream then hears about the checks its marker does not name yet: those
that changed, and any whose announcement was lost (check_announcer.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sst_ai_inference.alerts import (
    ALERT_COLUMNS,
    RESOLUTION_REPAIR_WINDOW,
    alert_message,
    announce,
    announce_resolution,
    record_alert,
    resolve_automatically,
    unannounced,
)
from sst_ai_inference.check_announcer import announce_checks
from sst_ai_inference.detection_store import (
    StoredRule,
    load_states,
    load_thresholds,
    load_view,
    save_states,
)
from sst_ai_inference.directory import Directory, ResidentInfo
from sst_ai_inference.findings import Finding, FixedWakeTimes, Verdict, WakeTimes
from sst_ai_inference.hysteresis import Action, RuleState, step
from sst_ai_inference.rules import TITLE_MAX, AlertDraft
from sst_ai_inference.windowed import WINDOWED_RULES, WindowedRule
from sst_core.domain import AlertState
from sst_core.messages import AlertMessage
from sst_core.rule_checks import CheckVerdict, RuleCheck, RuleCheckMessage
from sst_core.texts import phrase
from sst_core.thresholds import RuleName

log = logging.getLogger("sst.inference.windowed")

LOOKBACK = timedelta(hours=26)  # the longest limit (24 h) plus the waking-day margin
CATCH_UP_STEP = timedelta(minutes=5)
ENROL_EVERY_S = 60.0
_SHOWN_RULES = {rule.value: rule for rule in RuleName}

_ENROL = """
INSERT INTO detection_schedule (resident_id, due_at)
SELECT id, CAST(:now AS timestamptz) FROM residents WHERE home_id IS NOT NULL
ON CONFLICT (resident_id) DO NOTHING
"""
_CLAIM = """
SELECT resident_id, evaluated_until FROM detection_schedule
WHERE due_at <= :now ORDER BY due_at, resident_id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
_CLAIM_SOME = """
SELECT resident_id, evaluated_until FROM detection_schedule
WHERE due_at <= :now AND resident_id = ANY(:ids)
ORDER BY due_at, resident_id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
_DONE = """
UPDATE detection_schedule SET due_at = :due, evaluated_until = :until
WHERE resident_id = :resident_id
"""
# The end of an evaluation in one statement: the schedule moves on, and the resident's alerts
# to look at come back: those this evaluation raised or resolved or keeps raised (`ids`),
# and every automatic resolution in the repair window (any kind: the device alerts' too),
# older than `grace` (younger, the process that made it is announcing it now). One round
# trip, as `_DONE` alone was for a quiet resident (and `_DONE` + the alert rows for one with
# an alert); the resident's alerts are read through ix_alerts_resident_id. A data-modifying
# WITH runs once, whatever the SELECT reads.
_DONE_AND_ALERTS = f"""
WITH done AS (
    UPDATE detection_schedule SET due_at = :due, evaluated_until = :until
    WHERE resident_id = :resident_id
)
SELECT {ALERT_COLUMNS} FROM alerts
WHERE resident_id = :resident_id
  AND (id = ANY(:ids)
       OR (state = 'resolved' AND resolved_by IS NULL
           AND resolved_at > now() - CAST(:window AS interval)
           AND resolved_at <= now() - CAST(:grace AS interval)))
ORDER BY id
"""


def instants(
    evaluated_until: datetime | None, now: datetime, every: timedelta, cap: timedelta
) -> list[datetime]:
    """The instants to judge: every `every` since the last evaluation (`cap` at most), then now."""
    if evaluated_until is None or evaluated_until >= now:
        return [now]
    if evaluated_until < now - cap:
        log.warning("catching up only the last %s (evaluated until %s)", cap, evaluated_until)
    start = max(evaluated_until, now - cap)
    # Catching up after a long pause judges every 5 minutes at most: the limits are tens of
    # minutes, and a restart of many residents must not take longer than the pause.
    every = max(every, CATCH_UP_STEP) if now - start > 2 * every else every
    out: list[datetime] = []
    t = start + every
    while t < now:
        out.append(t)
        t += every
    out.append(now)
    return out


def _transient(exc: BaseException) -> bool:
    """PostgreSQL or Redis unavailable: the whole round waits, no resident is skipped."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError | OperationalError | InterfaceError | RedisError)


def _note_check(slot: StoredRule, finding: Finding, moment: datetime) -> None:
    """Keep the rule's latest verdict as carers read it; the row is rewritten only on a change.

    A raised condition is an alert whatever the rule says meanwhile (the alert is still open);
    otherwise a rule that cannot judge says so with its reason, and anything else is fine.
    A fine verdict keeps no reason: its words ("movement at 10:32") change with every reading
    and would rewrite the row at each evaluation.
    """
    verdict: CheckVerdict
    if slot.state.active:
        verdict, reason = "alert", None
    elif finding.verdict == Verdict.UNKNOWN:
        verdict, reason = "unknown", finding.reason_text
    else:
        verdict, reason = "fine", None
    old = slot.check
    if old is None or (old.verdict, old.reason) != (verdict, reason):
        slot.check = RuleCheck(verdict=verdict, reason=reason, decided_at=moment)
        slot.changed = True


def _shown(slot: StoredRule) -> tuple[RuleCheck | None, int | None]:
    """A rule's check as the rule-checks endpoint shows it: with its alert when raised."""
    check = slot.check
    return check, slot.alert_id if check is not None and check.verdict == "alert" else None


class Detector:
    """Evaluates the windowed rules of due residents and raises or resolves their alerts."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        redis: Redis,
        directory: Directory,
        rules: tuple[WindowedRule, ...] = WINDOWED_RULES,
        wake_times: WakeTimes | None = None,
        every: timedelta = timedelta(seconds=60),
        max_catch_up: timedelta = timedelta(hours=6),
        resolution_grace: timedelta = timedelta(seconds=10),
    ) -> None:
        self.engine = engine
        self.redis = redis
        self.directory = directory
        self.rules = rules
        self.wake_times = wake_times or FixedWakeTimes()
        self.every = every
        self.max_catch_up = max_catch_up
        # An automatic resolution younger than this is left to the process that made it.
        self.resolution_grace = resolution_grace
        self.evaluations = 0  # residents this process evaluated (a metric, and for tests)
        self.failures = 0  # residents skipped for a period because judging them failed
        self._enrolled_at = -ENROL_EVERY_S

    async def tick(
        self, now: datetime, *, residents: Sequence[int] | None = None
    ) -> list[AlertMessage]:
        """Evaluate every resident due at `now` (UTC); the alert states announced.

        `residents` limits the round to some residents (a test or a replay of a few homes).
        """
        if residents is not None or time.monotonic() - self._enrolled_at >= ENROL_EVERY_S:
            async with self.engine.begin() as conn:
                await conn.execute(text(_ENROL), {"now": now})
            self._enrolled_at = time.monotonic()
        messages: list[AlertMessage] = []
        while True:
            evaluated = await self.evaluate_next(now, residents=residents)
            if evaluated is None:
                break
            messages.extend(evaluated)
        return messages

    async def evaluate_next(
        self, now: datetime, *, residents: Sequence[int] | None = None
    ) -> list[AlertMessage] | None:
        """Take one due resident and evaluate it; None when nobody is due."""
        repairs: list[int] = []
        checks: list[RuleCheckMessage] = []  # offered to the announcer after the commit
        changed: set[RuleName] = set()
        async with self.engine.begin() as conn:
            claim = _CLAIM if residents is None else _CLAIM_SOME
            params: dict[str, Any] = {"now": now, "ids": list(residents or [])}
            claimed = (await conn.execute(text(claim), params)).first()
            if claimed is None:
                return None
            resident_id, until = claimed.resident_id, claimed.evaluated_until
            resident = await self.directory.resident(resident_id)
            if resident is None:  # not judged: `evaluated_until` (checked_at) stays
                await conn.execute(
                    text(_DONE),
                    {"resident_id": resident_id, "due": now + timedelta(days=1), "until": until},
                )
                return []
            moments = instants(until, now, self.every, self.max_catch_up)
            changes: list[tuple[str, int, str]] = []
            judged = False
            try:
                async with conn.begin_nested():
                    changes = await self._judge(
                        conn, resident_id, resident, moments, repairs, checks, changed
                    )
                judged = True
            except Exception as exc:
                if _transient(exc):
                    raise
                # One resident's bad data or a bug must not stop the others: skip a period.
                # `evaluated_until` stays: it is the `checked_at` carers read, and the next
                # evaluation judges the instants this one could not.
                self.failures += 1
                repairs.clear()
                checks.clear()
                changed.clear()
                log.exception("windowed rules failed for resident %s; skipped", resident_id)
            self.evaluations += 1
            resolved = {alert_id for action, alert_id, _ in changes if action == "resolve"}
            ids = sorted({*repairs, *resolved, *(c[1] for c in changes)})
            done = {
                "resident_id": resident_id,
                "due": now + self.every,
                "until": now if judged else until,
                "ids": ids,
                "window": RESOLUTION_REPAIR_WINDOW,
                "grace": self.resolution_grace,
            }
            alert_rows = list((await conn.execute(text(_DONE_AND_ALERTS), done)).mappings())
        messages = await self._announce(alert_rows, resolved, resident_id, resident.facility_id)
        await announce_checks(self.redis, checks, changed=changed)
        return messages

    async def _judge(
        self,
        conn: AsyncConnection,
        resident_id: int,
        resident: ResidentInfo,
        moments: list[datetime],
        repairs: list[int],
        checks: list[RuleCheckMessage],
        changed: set[RuleName],
    ) -> list[tuple[str, int, str]]:
        """Judge every rule at each instant; write alerts and states; the alert changes.

        Every shown rule's check goes into `checks` with its final value (a catch-up over
        many instants announces where it ended); those that changed since the last
        evaluation also into `changed`.
        """
        view = await load_view(
            conn,
            resident_id=resident_id,
            resident_name=resident.full_name,
            timezone=resident.timezone,
            start=moments[0] - LOOKBACK,
            end=moments[-1],
        )
        thresholds = await load_thresholds(conn, resident_id)
        stored = await load_states(conn, resident_id)
        before = {kind: _shown(slot) for kind, slot in stored.items()}
        changes: list[tuple[str, int, str]] = []
        for rule in self.rules:
            slot = stored.setdefault(rule.kind.value, StoredRule(RuleState(), None, True))
            for moment in moments:
                finding = rule.judge(view, moment, thresholds[rule.params], self.wake_times)
                changes.extend(await self._step(conn, resident_id, rule, slot, finding, moment))
            if slot.state.active and slot.alert_id is not None:
                repairs.append(slot.alert_id)
            name = _SHOWN_RULES.get(rule.kind.value)  # the rules the endpoint lists
            check, alert_id = _shown(slot)
            if name is None or check is None:
                continue
            if (check, alert_id) != before.get(name):
                changed.add(name)
            checks.append(
                RuleCheckMessage(
                    resident_id=resident_id,
                    facility_id=resident.facility_id,
                    rule=name,
                    check=check,
                    alert_id=alert_id,
                    checked_at=moments[-1],
                )
            )
        await save_states(
            conn, resident_id, {kind: slot for kind, slot in stored.items() if slot.changed}
        )
        return changes

    async def _step(
        self,
        conn: AsyncConnection,
        resident_id: int,
        rule: WindowedRule,
        slot: StoredRule,
        finding: Finding,
        moment: datetime,
    ) -> list[tuple[str, int, str]]:
        """One hysteresis step of one rule; the alert raised or resolved, if any."""
        new, action = step(slot.state, finding, moment, rule.clear_hold)
        if new != slot.state:
            slot.state, slot.changed = new, True
        slot.last_verdict = finding.verdict.value
        _note_check(slot, finding, moment)
        if action == Action.RAISE:
            draft = AlertDraft(
                resident_id=resident_id,
                kind=rule.kind,
                severity=rule.severity,
                title=finding.title[:TITLE_MAX],
                explanation=finding.explanation,
                sensor_id=finding.sensor_id,
                room=finding.room,
                at=finding.episode_at or moment,
                text=finding.text,
            )
            row = await record_alert(conn, draft, judged_at=moment)
            slot.alert_id = row["id"] if row is not None else None
            return [("raise", row["id"], rule.kind.value)] if row is not None else []
        if action == Action.RESOLVE and slot.alert_id is not None:
            row = await resolve_automatically(
                conn,
                alert_id=slot.alert_id,
                reason=finding.reason_text or phrase("resolved.condition_over"),
                details={"at": moment.isoformat(), "rule": rule.kind.value},
            )
            slot.alert_id = None
            return [("resolve", row["id"], rule.kind.value)] if row is not None else []
        if action == Action.RESOLVE:
            slot.changed = True
        return []

    async def _announce(
        self, alert_rows: list[Any], resolved: set[int], resident_id: int, facility_id: int
    ) -> list[AlertMessage]:
        """Announce each alert state whose marker is missing: new now, or made by a process
        that died before announcing it (a raise, or an automatic resolution of any kind)."""
        messages: list[AlertMessage] = []
        for row in await unannounced(self.redis, alert_rows):
            message = alert_message(row, facility_id)
            if row["state"] == AlertState.RESOLVED:
                await announce_resolution(self.redis, message, row["resolved_at"])
            else:
                await announce(self.redis, message)
            messages.append(message)
            if row["state"] == AlertState.RESOLVED and row["id"] not in resolved:
                log.warning(
                    "alert %s (resident %s) was resolved but the resolution never announced; "
                    "announcing",
                    row["id"],
                    resident_id,
                    extra={"resident_id": resident_id},
                )
            else:
                log.info(
                    "alert %s %s for resident %s: %s",
                    row["id"],
                    row["kind"],
                    resident_id,
                    row["state"],
                    extra={"resident_id": resident_id},
                )
        return messages
