"""The daily summary of a seeded day in New York on the day clocks went forward (23 hours)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from email.header import decode_header, make_header

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.scheduler import Scheduler
from sst_backend.summaries.scheduled import queue_daily_summaries
from sst_core.db.models import Alert, DailySummaryRun, User
from sst_core.texts import Text, english
from tests.backend.alerting import fast_settings, running
from tests.backend.conftest import login
from tests.backend.receivers import body_text, smtp_server
from tests.factories import HomeFixture, make_home
from tests.hub_gateway.helpers import eventually

DAY = date(2026, 3, 8)  # US daylight saving starts at 02:00 EST: the local day has 23 hours


def z(text_: str) -> datetime:
    """A UTC instant, written as ISO without the zone."""
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


# (UTC instant, sensor key, value); local time in New York in the comment.
READINGS = [
    (z("2026-03-07T23:00:00"), "bed-pressure", 0.0),  # 18:00 EST the day before: not in bed
    (z("2026-03-08T03:30:00"), "bed-pressure", 1.0),  # 22:30 EST: to bed
    (z("2026-03-08T04:00:00"), "bed-pressure", 1.0),  # periodic state
    (z("2026-03-08T04:30:00"), "kitchen-motion", 1.0),  # 23:30 EST the day before: not today
    (z("2026-03-08T06:30:00"), "bed-pressure", 0.0),  # 01:30 EST: up at night
    (z("2026-03-08T06:32:00"), "bathroom-motion", 1.0),  # 01:32 EST
    (z("2026-03-08T06:40:00"), "bed-pressure", 1.0),  # 01:40 EST: back to bed
    (z("2026-03-08T10:45:00"), "bed-pressure", 0.0),  # 06:45 EDT: up for the day
    (z("2026-03-08T10:50:00"), "bedroom-motion", 1.0),  # 06:50 EDT
    (z("2026-03-08T11:10:00"), "kitchen-motion", 1.0),  # 07:10 breakfast
    (z("2026-03-08T11:12:00"), "kitchen-motion", 1.0),
    (z("2026-03-08T11:20:00"), "kitchen-motion", 1.0),
    (z("2026-03-08T13:00:00"), "living-motion", 1.0),  # 09:00
    (z("2026-03-08T14:15:00"), "living-motion", 1.0),  # 10:15
    (z("2026-03-08T14:30:00"), "front-door", 1.0),  # 10:30 out
    (z("2026-03-08T14:30:20"), "front-door", 0.0),
    (z("2026-03-08T15:45:00"), "front-door", 1.0),  # 11:45 back: 74 min 40 s away
    (z("2026-03-08T15:45:15"), "front-door", 0.0),
    (z("2026-03-08T16:30:00"), "kitchen-motion", 1.0),  # 12:30 lunch
    (z("2026-03-08T16:35:00"), "kitchen-motion", 1.0),
    (z("2026-03-08T19:00:00"), "living-motion", 1.0),  # 15:00
    (z("2026-03-08T20:00:00"), "front-door", 1.0),  # 16:00 a visitor: motion follows
    (z("2026-03-08T20:00:10"), "front-door", 0.0),
    (z("2026-03-08T20:05:00"), "living-motion", 1.0),  # 16:05
    (z("2026-03-08T22:00:00"), "kitchen-motion", 1.0),  # 18:00 dinner
    (z("2026-03-09T04:10:00"), "kitchen-motion", 1.0),  # 00:10 EDT the next day: not today
]


async def _seed(sm: async_sessionmaker[AsyncSession]) -> HomeFixture:
    home = await make_home(sm, timezone="America/New_York")
    async with sm() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO readings (time, sensor_id, resident_id, value) VALUES (:t, :s, :r, :v)"
            ),
            [
                {"t": t, "s": home.sensors[key], "r": home.resident_id, "v": v}
                for t, key, v in READINGS
            ],
        )
        for opened, state in (
            (z("2026-03-08T13:30:00"), "resolved"),
            (z("2026-03-08T04:00:00"), "resolved"),
        ):
            session.add(
                Alert(
                    resident_id=home.resident_id,
                    kind=f"fall-{opened.hour}",
                    severity="critical",
                    state=state,
                    title="Fall detected",
                    explanation="Fall detected in the Bathroom.",
                    opened_at=opened,
                    last_seen_at=opened,
                )
            )
    return home


async def test_daily_summary_of_a_seeded_day_in_local_time(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    home = await _seed(sessionmaker)
    token = await login(http, home.guardian_email, home.password)
    url = f"/api/v1/residents/{home.resident_id}/daily-summary"
    response = await http.get(
        url, params={"date": DAY.isoformat()}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["complete"] is True and summary["timezone"] == "America/New_York"
    assert summary["sleep_hours"] == 7.1  # 22:30-01:30 and 01:40-06:45 (3 h + 4 h 05)
    assert summary["times_up_at_night"] == 1
    assert summary["got_up_at"] == "06:45"  # EDT; a fixed -5 h offset would say 05:45
    assert summary["kitchen_motion"] == 6 and summary["kitchen_visits"] == 3
    assert summary["active_hours"] == 9
    assert summary["door_pairs"] == 3
    assert summary["outings"] == 1 and summary["time_out_minutes"] == 74
    assert [a["title"] for a in summary["alerts"]] == ["Fall detected"]
    assert "about 7.1 hours in bed" in summary["text"]
    assert "in the kitchen 3 times" in summary["text"]
    assert "went out once, for about 1 h 14 min" in summary["text"]
    # The opening line of the daily e-mail, for the guardian's "today" box too.
    assert summary["opening"].endswith("'s day went, Sunday 8 Mar:")
    assert summary["text"].startswith(summary["opening"] + "\n\n- Sleep:")
    assert english(Text.model_validate(summary["opening_text"])) == summary["opening"]
    # Each sentence also as a key with raw values, rendering to the very English line.
    lines = [Text.model_validate(line) for line in summary["lines_text"]]
    assert [line.key for line in lines] == [
        "summary.sleep",
        "summary.meals",
        "summary.activity",
        "summary.out",
        "summary.alerts",
    ]
    assert [english(line) for line in lines] == summary["lines"]
    assert lines[0].params == {
        "hours": 7.1,
        "times_up": 1,
        "woke": Text(key="summary.woke", params={"time": "06:45"}),
    }
    assert lines[3].params == {"outings": 1, "minutes": 74}
    # An alert raised before structured texts is listed by its English title.
    assert summary["alerts"][0]["title_text"] is None
    listed = lines[4].params["alerts"]
    assert isinstance(listed, list) and len(listed) == 1
    assert listed[0].params == {
        "title": Text(key="plain", params={"text": "Fall detected"}),
        "state": "resolved",
    }
    other = await make_home(sessionmaker)
    stranger = await login(http, other.guardian_email, other.password)
    denied = await http.get(
        url, params={"date": DAY.isoformat()}, headers={"Authorization": f"Bearer {stranger}"}
    )
    assert denied.status_code == 404
    future = await http.get(
        url, params={"date": "2999-01-01"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert future.status_code == 422


async def test_summary_is_emailed_once_at_the_local_hour(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await _seed(sessionmaker)
    async with smtp_server() as (mailbox, port):
        settings = fast_settings(smtp_port=port, daily_summary_enabled=True, daily_summary_hour=20)

        async def queue_all(now: datetime) -> None:
            async with sessionmaker() as session, session.begin():
                while await queue_daily_summaries(session, settings=settings, now=now, limit=50):
                    pass

        async def queued() -> bool:
            async with sessionmaker() as session:
                row = await session.scalar(
                    select(DailySummaryRun.local_date).where(
                        DailySummaryRun.resident_id == home.resident_id
                    )
                )
            return row == DAY

        await queue_all(z("2026-03-08T23:55:00"))  # 19:55 in New York: not yet
        assert not await queued()
        await queue_all(z("2026-03-09T00:05:00"))  # 20:05 in New York (already 9 March in UTC)
        assert await queued()
        await queue_all(z("2026-03-09T00:10:00"))  # once a day
        # The scheduler runs on the test's clock too: on the real one it would also queue
        # today's summary whenever the test runs after 20:00 in New York.
        scheduler = Scheduler(
            settings=settings,
            sessionmaker=sessionmaker,
            emit=None,
            clock=lambda: z("2026-03-09T00:10:00"),
        )
        async with running(scheduler):

            async def mailed() -> bool:
                return bool(mailbox.to(home.guardian_email))

            await eventually(mailed, within=5)
            await asyncio.sleep(0.3)
    assert len(mailbox.to(home.guardian_email)) == 1
    mail = mailbox.to(home.guardian_email)[0]
    assert mail["Subject"].endswith("day: Sunday 8 Mar")
    body = body_text(mail)
    assert "(until 20:05)" in body
    assert "about 7.1 hours in bed" in body and "Alerts: 1" in body
    assert not mailbox.to(home.staff_email)


async def test_a_guardian_who_chose_korean_gets_the_summary_in_korean(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await _seed(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.email == home.guardian_email).values(language="ko")
        )
    async with smtp_server() as (mailbox, port):
        settings = fast_settings(smtp_port=port, daily_summary_enabled=True, daily_summary_hour=20)
        async with sessionmaker() as session, session.begin():
            while await queue_daily_summaries(
                session, settings=settings, now=z("2026-03-09T00:05:00"), limit=50
            ):
                pass
        scheduler = Scheduler(
            settings=settings,
            sessionmaker=sessionmaker,
            emit=None,
            clock=lambda: z("2026-03-09T00:10:00"),
        )
        async with running(scheduler):

            async def mailed() -> bool:
                return bool(mailbox.to(home.guardian_email))

            await eventually(mailed, within=5)
    mail = mailbox.to(home.guardian_email)[0]
    assert str(make_header(decode_header(mail["Subject"]))).endswith("님의 하루: 3월 8일 일요일")
    body = body_text(mail)
    assert "님의 하루, 3월 8일 일요일 (20:05까지):" in body.splitlines()[0]
    assert "수면: 어젯밤 침대에 약 7.1시간 있었고" in body and "알림: 1건" in body
    assert "Sleep" not in body
