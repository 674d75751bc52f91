"""Analytics endpoints on the real backend, checked against the raw readings they summarise."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.db.models import AuditEntry
from tests.backend.conftest import login
from tests.factories import STANDARD_LAYOUT, HomeFixture, make_home, zone_at_midday
from tests.readings_data import ReadingRow, at_local, insert_readings, refresh, simulated_days

API = "/api/v1"
ACTIVITY_KINDS = {"motion", "door", "toilet"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _room_ids(http: httpx.AsyncClient, token: str, home: HomeFixture) -> dict[str, int]:
    response = await http.get(f"{API}/homes/{home.home_id}/rooms", headers=_auth(token))
    assert response.status_code == 200, response.text
    return {room["name"]: room["id"] for room in response.json()}


async def test_heatmap_counts_every_event_in_its_local_room_hour(
    http: httpx.AsyncClient, engine: AsyncEngine, home: HomeFixture
) -> None:
    first = date(2026, 10, 20)
    rows = simulated_days(home, first, 10)
    await insert_readings(engine, rows)
    await refresh(engine)
    token = await login(http, home.staff_email, home.password)
    rooms = await _room_ids(http, token, home)
    kind_of = {key: kind for _, _, keys in STANDARD_LAYOUT for key, kind in keys}
    room_of = {key: rooms[name] for name, _, keys in STANDARD_LAYOUT for key, _ in keys}
    by_id = {sensor_id: key for key, sensor_id in home.sensors.items()}
    zone = ZoneInfo(home.timezone)
    expected: Counter[tuple[int, str, int]] = Counter()
    for at, sensor_id, _, value in rows:
        key = by_id[sensor_id]
        if kind_of[key] in ACTIVITY_KINDS and value > 0:
            local = at.astimezone(zone)
            expected[(room_of[key], local.date().isoformat(), local.hour)] += int(value)

    response = await http.get(
        f"{API}/residents/{home.resident_id}/activity-heatmap",
        params={"start_date": "2026-10-20", "end_date": "2026-10-29"},
        headers=_auth(token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == home.timezone
    got = {
        (row["room_id"], row["date"], hour): events
        for row in body["rows"]
        for hour, events in enumerate(row["events"])
        if events
    }
    assert got == dict(expected)
    assert all(len(row["events"]) == 24 for row in body["rows"])
    assert {r["room_id"] for r in body["rooms"]} == set(rooms.values())


async def test_series_buckets_follow_local_days_and_match_raw_values(
    http: httpx.AsyncClient, engine: AsyncEngine, home: HomeFixture
) -> None:
    rows = [
        r for r in simulated_days(home, date(2026, 11, 2), 3) if r[1] == home.sensors["living-temp"]
    ]
    await insert_readings(engine, rows)
    await refresh(engine)
    token = await login(http, home.admin_email, home.password)
    zone = ZoneInfo(home.timezone)
    start = datetime(2026, 11, 2, tzinfo=zone)
    response = await http.get(
        f"{API}/sensors/{home.sensors['living-temp']}/series",
        params={
            "bucket": "1d",
            "start": start.isoformat(),
            "end": (start + timedelta(days=3)).isoformat(),
        },
        headers=_auth(token),
    )
    assert response.status_code == 200, response.text
    points = response.json()["points"]
    assert [p["start"][:10] for p in points] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert all(p["start"].endswith("+09:00") for p in points)  # local midnights, Seoul
    for point in points:
        day = date.fromisoformat(point["start"][:10])
        values = [v for at, _, _, v in rows if at.astimezone(zone).date() == day]
        assert point["count"] == len(values) == 288
        assert point["min"] == min(values) and point["max"] == max(values)
        assert point["avg"] == pytest.approx(sum(values) / len(values))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"bucket": "5m"}, "invalid_request"),
        ({"start": "2026-11-02T00:00:00"}, "invalid_request"),  # no UTC offset
        ({"start": "2026-11-03T00:00:00Z", "end": "2026-11-02T00:00:00Z"}, "invalid_range"),
        ({"start": "2020-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "invalid_range"),
        ({"start": "0001-01-01T00:00:00Z"}, "invalid_request"),
    ],
)
async def test_series_refuses_bad_ranges_with_a_4xx(
    http: httpx.AsyncClient, home: HomeFixture, params: dict[str, str], code: str
) -> None:
    token = await login(http, home.admin_email, home.password)
    response = await http.get(
        f"{API}/sensors/{home.sensors['living-temp']}/series", params=params, headers=_auth(token)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def _normal_day(home: HomeFixture, day: date) -> list[ReadingRow]:
    """Bed 22:00-06:00 (evening before), a 02:30 bathroom trip, out 10:30-13:00, meals."""
    zone, s, rid = home.timezone, home.sensors, home.resident_id
    rows: list[ReadingRow] = []
    evening = at_local(day - timedelta(days=1), 22, 0, zone)
    wake = at_local(day, 6, 0, zone)
    t = at_local(day - timedelta(days=1), 18, 0, zone)
    while t < at_local(day, 12, 0, zone):  # half-hourly bed state, as a real bed sensor sends
        rows.append((t, s["bed-pressure"], rid, 1.0 if evening <= t < wake else 0.0))
        t += timedelta(minutes=30)
    rows.append((at_local(day, 2, 30, zone), s["bathroom-motion"], rid, 1.0))
    rows.append((at_local(day, 2, 34, zone), s["toilet-flush"], rid, 1.0))
    for hour in (7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21):
        rows.append((at_local(day, hour, 5, zone), s["living-motion"], rid, 1.0))
    for hour in (8, 13, 18):
        rows.append((at_local(day, hour, 20, zone), s["kitchen-motion"], rid, 1.0))
    rows.append((at_local(day, 8, 22, zone), s["kettle-plug"], rid, 2000.0))
    rows.append((at_local(day, 8, 25, zone), s["kettle-plug"], rid, 0.0))
    rows.append((at_local(day, 10, 30, zone), s["front-door"], rid, 1.0))
    rows.append((at_local(day, 10, 31, zone), s["front-door"], rid, 0.0))
    rows.append((at_local(day, 12, 58, zone), s["front-door"], rid, 1.0))
    rows.append((at_local(day, 12, 59, zone), s["front-door"], rid, 0.0))
    return rows


def _bad_day(home: HomeFixture, day: date) -> list[ReadingRow]:
    """Never in bed, three night trips to the bathroom, never out."""
    zone, s, rid = home.timezone, home.sensors, home.resident_id
    rows: list[ReadingRow] = []
    t = at_local(day - timedelta(days=1), 18, 0, zone)
    while t < at_local(day, 12, 0, zone):
        rows.append((t, s["bed-pressure"], rid, 0.0))
        t += timedelta(minutes=30)
    for hour in (1, 2, 3):
        rows.append((at_local(day, hour, 10, zone), s["bathroom-motion"], rid, 1.0))
    for hour in range(7, 22):
        rows.append((at_local(day, hour, 5, zone), s["living-motion"], rid, 1.0))
    return rows


@pytest.fixture
async def london(sessionmaker: async_sessionmaker[AsyncSession]) -> HomeFixture:
    """A home whose clocks go back on 2026-10-25."""
    return await make_home(sessionmaker, timezone="Europe/London")


async def test_daily_summaries_and_their_trend_in_local_time(
    http: httpx.AsyncClient, engine: AsyncEngine, london: HomeFixture
) -> None:
    home = london
    first, last = date(2026, 10, 1), date(2026, 11, 4)
    rows: list[ReadingRow] = []
    day = first
    while day < last:
        rows += _normal_day(home, day)
        day += timedelta(days=1)
    rows += _bad_day(home, last)
    await insert_readings(engine, rows)
    await refresh(engine)
    token = await login(http, home.guardian_email, home.password)  # guardians see their own
    response = await http.get(
        f"{API}/residents/{home.resident_id}/daily-summaries",
        params={"start_date": "2026-10-24", "end_date": "2026-11-04"},
        headers=_auth(token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    days = {d["date"]: d for d in body["days"]}
    assert len(days) == 12 and body["baseline_days"] == 28

    usual = days["2026-10-27"]
    assert usual["has_data"] is True
    assert usual["sleep_hours"] == pytest.approx(8.0)
    assert usual["night_bathroom_visits"] == 1
    assert usual["out_of_home_hours"] == 2.0  # 11:00 and 12:00 without motion
    assert usual["kitchen_active_hours"] == 3
    assert usual["activity_events"] == 1 + 1 + 13 + 3 + 2  # bathroom, flush, living, kitchen, door
    assert usual["trend"]["sleep_hours"]["status"] == "usual"
    assert usual["trend"]["sleep_hours"]["baseline_days"] == 26  # data starts on 1 October
    # The night the clocks went back: 22:00 to 06:00 on the wall is nine hours in bed.
    assert days["2026-10-25"]["sleep_hours"] == pytest.approx(9.0)

    bad = days["2026-11-04"]
    assert bad["sleep_hours"] == 0.0 and bad["trend"]["sleep_hours"]["status"] == "below"
    assert bad["night_bathroom_visits"] == 3
    assert bad["trend"]["night_bathroom_visits"]["status"] == "above"
    assert bad["out_of_home_hours"] == 0.0
    assert bad["trend"]["out_of_home_hours"]["status"] == "below"
    baseline = bad["trend"]["sleep_hours"]
    assert baseline["baseline_days"] == 28
    assert 8.0 <= baseline["baseline_mean"] <= 8.1  # 27 nights of 8 h and one of 9 h
    assert baseline["band_low"] < 8.0 < baseline["band_high"]


async def test_analytics_follow_the_access_rule(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], home: HomeFixture
) -> None:
    other = await make_home(sessionmaker)  # another facility
    same_facility = await make_home(sessionmaker, facility_id=home.facility_id)
    for email in (other.admin_email, other.staff_email, other.guardian_email):
        token = await login(http, email, home.password)
        for path in (
            f"{API}/residents/{home.resident_id}/daily-summaries",
            f"{API}/residents/{home.resident_id}/activity-heatmap",
            f"{API}/sensors/{home.sensors['living-temp']}/series",
        ):
            response = await http.get(path, headers=_auth(token))
            assert response.status_code == 404, (email, path, response.text)
            assert response.json()["error"]["code"] == "not_found"
    # Staff of the same facility, assigned to someone else, do not see this resident either.
    token = await login(http, same_facility.staff_email, home.password)
    response = await http.get(
        f"{API}/residents/{home.resident_id}/daily-summaries", headers=_auth(token)
    )
    assert response.status_code == 404


async def test_a_default_request_covers_the_last_thirty_local_days(
    http: httpx.AsyncClient, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # A home where it is about noon: a reading five minutes ago is today's whenever this runs
    # (in Seoul it was yesterday's from 00:00 to 00:05, and today's count was empty).
    home = await make_home(sessionmaker, timezone=zone_at_midday())
    now = datetime.now(UTC)
    await insert_readings(
        engine, [(now - timedelta(minutes=5), home.sensors["kitchen-motion"], home.resident_id, 1)]
    )
    await refresh(engine)
    token = await login(http, home.staff_email, home.password)
    response = await http.get(
        f"{API}/residents/{home.resident_id}/daily-summaries", headers=_auth(token)
    )
    assert response.status_code == 200, response.text
    days = response.json()["days"]
    today = datetime.now(ZoneInfo(home.timezone)).date()
    assert len(days) == 30 and days[-1]["date"] == today.isoformat()
    assert days[-1]["activity_events"] == 1


async def test_each_view_of_a_residents_analytics_is_audited_with_its_days(
    http: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], home: HomeFixture
) -> None:
    token = await login(http, home.staff_email, home.password)
    days = {"start_date": "2025-03-01", "end_date": "2025-03-07"}
    for view in ("activity-heatmap", "daily-summaries"):
        response = await http.get(
            f"{API}/residents/{home.resident_id}/{view}", params=days, headers=_auth(token)
        )
        assert response.status_code == 200, response.text
    async with sessionmaker() as session:
        audited = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.target_type, AuditEntry.details)
                .where(AuditEntry.target_id == str(home.resident_id))
                .where(AuditEntry.action == "resident.analytics.view")
                .order_by(AuditEntry.id)
            )
        ).all()
    expected = [
        {"view": view, "from": "2025-03-01", "to": "2025-03-07"} for view in ("heatmap", "daily")
    ]
    assert [tuple(row) for row in audited] == [
        ("resident.analytics.view", "resident", details) for details in expected
    ]
