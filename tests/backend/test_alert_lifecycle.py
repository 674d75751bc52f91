"""The alert list's filters and pages, an alert's detail and timeline, and reopening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import ALERTS_STREAM
from sst_core.db.models import Alert, AuditEntry
from sst_core.messages import AlertMessage
from tests.backend.alerting import open_alert
from tests.backend.conftest import login
from tests.factories import HomeFixture, make_home


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_filters_and_cursor_pages(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    base = datetime.now(UTC) - timedelta(hours=10)
    ours = [
        await open_alert(
            sessionmaker, home, severity=sev, kind=f"k{i}", opened_at=base + timedelta(hours=i)
        )
        for i, sev in enumerate(["critical", "low", "high", "low", "critical"])
    ]
    theirs = await open_alert(sessionmaker, neighbour, severity="low", kind="k9", opened_at=base)
    token = await login(http, home.admin_email, home.password)
    url = "/api/v1/alerts"

    async def ids(**params: object) -> list[int]:
        response = await http.get(url, headers=auth(token), params=params)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()]

    assert await ids(resident_id=home.resident_id) == ours[::-1]
    assert await ids(resident_id=home.resident_id, severity="low") == [ours[3], ours[1]]
    assert set(await ids(severity=["critical", "high"], resident_id=home.resident_id)) == {
        ours[0],
        ours[2],
        ours[4],
    }
    assert await ids(kind="k9") == [theirs]
    window = {
        "since": (base + timedelta(hours=1.5)).isoformat(),
        "until": (base + timedelta(hours=3.5)).isoformat(),
    }
    assert await ids(resident_id=home.resident_id, **window) == [ours[3], ours[2]]
    assert await ids(resident_id=home.resident_id, state="resolved") == []
    # Pages of two, following X-Next-Cursor until it is absent.
    seen: list[int] = []
    params: dict[str, object] = {"resident_id": home.resident_id, "limit": 2}
    while True:
        page = await http.get(url, headers=auth(token), params=params)  # type: ignore[arg-type]
        seen += [a["id"] for a in page.json()]
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break
        params["cursor"] = cursor
    assert seen == ours[::-1]
    bad = await http.get(url, headers=auth(token), params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"
    empty = await http.get(
        url, headers=auth(token), params={"since": base.isoformat(), "until": base.isoformat()}
    )
    assert empty.status_code == 422
    naive = await http.get(url, headers=auth(token), params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    # Staff of the home see only their resident's alerts, whatever they ask for.
    staff = await login(http, home.staff_email, home.password)
    asked = await http.get(url, headers=auth(staff), params={"resident_id": neighbour.resident_id})
    assert asked.json() == []


async def test_detail_timeline_and_reopen(
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    alert_id = await open_alert(sessionmaker, home, kind="fall")
    staff = await login(http, home.staff_email, home.password)
    guardian = await login(http, home.guardian_email, home.password)
    other = await make_home(sessionmaker)
    stranger = await login(http, other.guardian_email, other.password)
    assert (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(stranger))).status_code == 404
    await http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=auth(staff))
    early = await http.post(
        f"/api/v1/alerts/{alert_id}/reopen", headers=auth(staff), json={"note": "again"}
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "alert_not_resolved"
    await http.post(
        f"/api/v1/alerts/{alert_id}/resolve", headers=auth(staff), json={"note": "Unhurt."}
    )
    assert (
        await http.post(
            f"/api/v1/alerts/{alert_id}/reopen", headers=auth(guardian), json={"note": "x"}
        )
    ).status_code == 403
    before = await redis.xrevrange(ALERTS_STREAM, count=1)
    reopened = await http.post(
        f"/api/v1/alerts/{alert_id}/reopen", headers=auth(staff), json={"note": "Dizzy again."}
    )
    assert reopened.status_code == 200 and reopened.json()["state"] == "open"
    latest = await redis.xrevrange(ALERTS_STREAM, count=1)
    assert latest != before
    assert latest and latest[0][1] is not None
    announced = AlertMessage.from_stream(latest[0][1])
    assert (announced.id, announced.state) == (alert_id, "open")
    detail = (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(guardian))).json()
    assert detail["acknowledged_at"] is None and detail["resolved_at"] is None
    actions = [e["action"] for e in detail["timeline"]]
    assert actions == ["raised", "acknowledged", "resolved", "reopened"]
    assert detail["timeline"][3]["details"] == {"note": "Dizzy again."}
    assert detail["timeline"][1]["actor_name"].startswith("Staff")
    # Reopening starts the escalation over, from its first step.
    assert detail["escalation"]["round"] == 1 and detail["escalation"]["next_step"]["index"] == 0
    async with sessionmaker() as session:
        audited = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_id == str(alert_id))
            )
        ).all()
    assert {"alert.acknowledge", "alert.resolve", "alert.reopen", "alert.view"} <= set(audited)
    # A newer alert of the kind being open, this one cannot be reopened too.
    await http.post(f"/api/v1/alerts/{alert_id}/resolve", headers=auth(staff), json={"note": "ok"})
    newer = await open_alert(sessionmaker, home, kind="fall")
    clash = await http.post(
        f"/api/v1/alerts/{alert_id}/reopen", headers=auth(staff), json={"note": "x"}
    )
    assert clash.status_code == 409
    assert clash.json()["error"]["details"] == {"open_alert_id": newer}
    async with sessionmaker() as session:
        assert (await session.get(Alert, alert_id)).state == "resolved"  # type: ignore[union-attr]
