"""Escalation on the real PostgreSQL: steps on time, acknowledgement stops it, reminders,
two schedulers never double-send, and a restarted scheduler resumes where the last stopped."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.scheduler import Scheduler
from sst_core.db.session import make_engine, make_sessionmaker
from tests.backend.alerting import (
    add_contact,
    add_staff_on_duty,
    deliveries,
    events,
    fast_settings,
    open_alert,
    recorder,
    running,
    set_policy,
    user_id,
)
from tests.backend.conftest import login
from tests.backend.receivers import body_text, smtp_server
from tests.factories import HomeFixture
from tests.hub_gateway.helpers import eventually


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_steps_run_one_after_another_on_time(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    duty_email = await add_staff_on_duty(sessionmaker, home)
    contact_email = await add_contact(sessionmaker, home)
    await set_policy(
        sessionmaker,
        home,
        [("assigned_staff", 0), ("staff_on_duty", 1), ("guardians", 1), ("emergency_contact", 1)],
    )
    async with smtp_server() as (mailbox, port):
        emitted, emit = recorder()
        scheduler = Scheduler(
            settings=fast_settings(smtp_port=port), sessionmaker=sessionmaker, emit=emit
        )
        started = datetime.now(UTC)
        alert_id = await open_alert(sessionmaker, home)
        async with running(scheduler):
            order = [home.staff_email, duty_email, home.guardian_email, contact_email]

            async def all_told() -> bool:
                return all(mailbox.to(address) for address in order)

            await eventually(all_told, within=8)
    timeline = [
        e for e in await events(sessionmaker, alert_id) if e.action in ("paged", "escalated")
    ]
    assert [e.details["target"] for e in timeline] == [
        "assigned_staff",
        "staff_on_duty",
        "guardians",
        "emergency_contact",
    ]
    for step, event in enumerate(timeline):
        # Each step is due `step` seconds after the alert opened; a tick is 0.1 s.
        late = (event.at - started).total_seconds() - step
        assert -0.05 <= late < 1.5, (step, late)
    for address in order:
        assert len(mailbox.to(address)) == 1, address
    staff_mail = body_text(mailbox.to(home.staff_email)[0])
    assert "Why: Fall detected in the Bathroom" in staff_mail
    assert "https://care.example.org/#/alerts/" in staff_mail
    guardian_mail = body_text(mailbox.to(home.guardian_email)[0])
    assert "please give" in guardian_mail and "care team" in guardian_mail
    assert "Nobody has acknowledged" in body_text(mailbox.to(duty_email)[0])
    assert "emergency contact" in body_text(mailbox.to(contact_email)[0])
    # (The loop also serves alerts other tests left open: look at this alert's only.)
    rooms = {room for event, data, room in emitted if data["alert_id"] == alert_id}
    assert len(rooms) == 3  # assigned staff, staff on duty, guardian (contacts have no app)


async def test_acknowledgement_stops_escalation_and_reminders_follow_until_resolved(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> None:
    await set_policy(sessionmaker, home, [("assigned_staff", 0), ("guardians", 2)], reminder_s=1)
    token = await login(http, home.staff_email, home.password)
    async with smtp_server() as (mailbox, port):
        scheduler = Scheduler(
            settings=fast_settings(smtp_port=port), sessionmaker=sessionmaker, emit=recorder()[1]
        )
        alert_id = await open_alert(sessionmaker, home)
        async with running(scheduler):

            async def staff_told() -> bool:
                return bool(mailbox.to(home.staff_email))

            await eventually(staff_told, within=5)
            detail = (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(token))).json()
            assert detail["escalation"]["next_step"]["target"] == "guardians"
            assert detail["escalation"]["next_step"]["who"] == "the guardians"
            assert detail["escalation"]["next_escalation_at"] is not None
            ack = await http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=auth(token))
            assert ack.status_code == 200
            acknowledged = time.monotonic()
            await asyncio.sleep(2.6)  # past the guardians' step and two reminder intervals
            reminders = [m for m in mailbox.to(home.staff_email) if "Still open" in m["Subject"]]
            assert len(reminders) >= 2, len(reminders)
            assert not mailbox.to(home.guardian_email), "escalated after acknowledgement"
            detail = (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(token))).json()
            assert detail["escalation"]["next_step"] is None
            assert detail["escalation"]["next_escalation_at"] is None
            assert detail["escalation"]["reminders_sent"] >= 2
            done = await http.post(
                f"/api/v1/alerts/{alert_id}/resolve", headers=auth(token), json={"note": "Fine."}
            )
            assert done.status_code == 200
            settled = len(mailbox.to(home.staff_email))
            await asyncio.sleep(1.5)
            assert len(mailbox.to(home.staff_email)) == settled, "reminded after resolution"
    assert time.monotonic() - acknowledged > 2
    actions = [e.action for e in await events(sessionmaker, alert_id)]
    assert "escalated" not in actions
    assert actions.count("reminded") >= 2
    last_reminder = max(i for i, a in enumerate(actions) if a == "reminded")
    assert last_reminder < actions.index("resolved")


async def test_two_schedulers_at_once_never_send_twice(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession], test_env: dict[str, str]
) -> None:
    await set_policy(sessionmaker, home, [("assigned_staff", 0), ("guardians", 1)])
    engines = [make_engine(test_env["SST_DATABASE_URL"], pool_size=4) for _ in range(2)]
    try:
        async with smtp_server() as (mailbox, port):
            settings = fast_settings(smtp_port=port, scheduler_interval_s=0.05)
            schedulers = [
                Scheduler(settings=settings, sessionmaker=make_sessionmaker(e), emit=recorder()[1])
                for e in engines
            ]
            alert_ids = [await open_alert(sessionmaker, home) for _ in range(12)]
            async with running(schedulers[0]), running(schedulers[1]):

                async def all_sent() -> bool:
                    rows = [d for a in alert_ids for d in await deliveries(sessionmaker, a)]
                    return len(rows) == 12 * 4 and all(d.state == "sent" for d in rows)

                await eventually(all_sent, within=15)
                await asyncio.sleep(0.5)  # give a double-send the chance to show
            rows = [d for a in alert_ids for d in await deliveries(sessionmaker, a)]
            # 12 alerts x (staff, guardian) x (in-app, e-mail): each exactly once.
            assert len(rows) == 48
            assert all(d.attempt == 1 for d in rows)
            ours = {home.staff_email, home.guardian_email}
            mails = [m for m in mailbox.messages if m["To"] in ours]
            assert len(mails) == 24
            sent = sum(s.totals.sent for s in schedulers)
            assert sent >= 48  # the loops also serve alerts of other tests
            for alert_id in alert_ids:
                steps = [e.action for e in await events(sessionmaker, alert_id)]
                assert steps.count("paged") == 1 and steps.count("escalated") == 1
    finally:
        for e in engines:
            await e.dispose()


async def test_a_restarted_scheduler_resumes_without_repeating(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await set_policy(sessionmaker, home, [("assigned_staff", 0), ("guardians", 2)])
    async with smtp_server() as (mailbox, port):
        settings = fast_settings(smtp_port=port)
        alert_id = await open_alert(sessionmaker, home)
        first = Scheduler(settings=settings, sessionmaker=sessionmaker, emit=recorder()[1])
        async with running(first):

            async def staff_told() -> bool:
                return bool(mailbox.to(home.staff_email))

            await eventually(staff_told, within=5)
        # The backend is down while the guardians' step falls due.
        await asyncio.sleep(2.2)
        assert not mailbox.to(home.guardian_email)
        second = Scheduler(settings=settings, sessionmaker=sessionmaker, emit=recorder()[1])
        resumed = time.monotonic()
        async with running(second):

            async def guardian_told() -> bool:
                return bool(mailbox.to(home.guardian_email))

            await eventually(guardian_told, within=5)
            assert time.monotonic() - resumed < 1.5
            await asyncio.sleep(0.3)
    assert len(mailbox.to(home.staff_email)) == 1
    assert len(mailbox.to(home.guardian_email)) == 1
    actions = [e.action for e in await events(sessionmaker, alert_id)]
    assert actions.count("paged") == 1 and actions.count("escalated") == 1


async def test_low_severity_never_pages_guardians_by_default(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    opened = datetime.now(UTC) - timedelta(days=2)  # long unacknowledged
    alert_id = await open_alert(sessionmaker, home, severity="low", opened_at=opened)
    scheduler = Scheduler(settings=fast_settings(), sessionmaker=sessionmaker, emit=recorder()[1])
    async with running(scheduler):

        async def finished() -> bool:
            steps = [e for e in await events(sessionmaker, alert_id) if "target" in e.details]
            return len(steps) == 2

        await eventually(finished, within=5)
    timeline = await events(sessionmaker, alert_id)
    assert [e.details["target"] for e in timeline if "target" in e.details] == [
        "assigned_staff",
        "staff_on_duty",
    ]
    recipients = {d.recipient_user_id for d in await deliveries(sessionmaker, alert_id)}
    assert recipients == {await user_id(sessionmaker, home.staff_email)}
