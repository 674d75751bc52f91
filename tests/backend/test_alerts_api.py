"""Residents and alerts are visible only to those who may see them; staff handle alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import ALERTS_STREAM
from sst_core.db.models import Alert, AlertEvent, AuditEntry
from sst_core.messages import AlertMessage
from sst_core.texts import AlertText, phrase
from tests.backend.conftest import login
from tests.factories import HomeFixture, make_home


async def _open_alert(
    sm: async_sessionmaker[AsyncSession], home: HomeFixture, *, text: AlertText | None = None
) -> int:
    now = datetime.now(UTC)
    async with sm() as session, session.begin():
        alert = Alert(
            resident_id=home.resident_id,
            kind="fall",
            severity="critical",
            state="open",
            title="Fall detected",
            explanation="Fall detected in the Bathroom at 14:03 (home time).",
            text=text.model_dump(mode="json") if text is not None else None,
            count=1,
            sensor_id=home.sensors["fall-1"],
            opened_at=now,
            last_seen_at=now,
        )
        session.add(alert)
        await session.flush()
        return alert.id


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_each_role_sees_only_its_residents(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    elsewhere = await make_home(sessionmaker)
    expectations = {
        home.staff_email: {home.resident_id},
        home.guardian_email: {home.resident_id},
        home.admin_email: {home.resident_id, neighbour.resident_id},
        elsewhere.admin_email: {elsewhere.resident_id},
    }
    for email, expected in expectations.items():
        token = await login(http, email, home.password)
        listed = (await http.get("/api/v1/residents", headers=auth(token))).json()
        assert {r["id"] for r in listed} == expected, email


async def test_staff_acknowledge_and_resolve_with_timeline_audit_and_announcement(
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    alert_id = await _open_alert(sessionmaker, home)
    token = await login(http, home.staff_email, home.password)
    listed = (await http.get("/api/v1/alerts", headers=auth(token))).json()
    assert [a["id"] for a in listed] == [alert_id]
    assert listed[0]["room"] == "Bathroom"
    ack = await http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=auth(token))
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    done = await http.post(
        f"/api/v1/alerts/{alert_id}/resolve", headers=auth(token), json={"note": "Unhurt."}
    )
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    again = await http.post(
        f"/api/v1/alerts/{alert_id}/resolve", headers=auth(token), json={"note": "twice"}
    )
    assert again.status_code == 409

    entries = await redis.xrange(ALERTS_STREAM) or []
    announced = [AlertMessage.from_stream(f) for _, f in entries if f]
    assert [m.state for m in announced if m.id == alert_id] == ["acknowledged", "resolved"]
    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AlertEvent.action)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(AlertEvent.id)
            )
        ).all()
        audited = (
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.target_type == "alert", AuditEntry.target_id == str(alert_id)
                )
            )
        ).all()
    assert list(actions) == ["acknowledged", "resolved"]
    assert sorted(audited) == ["alert.acknowledge", "alert.resolve"]


async def test_guardian_cannot_change_and_strangers_cannot_see(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alert_id = await _open_alert(sessionmaker, home)
    guardian = await login(http, home.guardian_email, home.password)
    seen = (await http.get("/api/v1/alerts", headers=auth(guardian))).json()
    assert alert_id in [a["id"] for a in seen]
    refused = await http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=auth(guardian))
    assert refused.status_code == 403
    stranger_home = await make_home(sessionmaker)
    stranger = await login(http, stranger_home.admin_email, home.password)
    assert alert_id not in [
        a["id"] for a in (await http.get("/api/v1/alerts", headers=auth(stranger))).json()
    ]
    hidden = await http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=auth(stranger))
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"


async def test_an_alert_s_structured_text_reaches_the_api_and_the_live_feed(
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    params = {"room": "Bathroom", "room_kind": "bathroom", "time": "14:03", "name": "Kim"}
    words = AlertText(
        title=phrase("alert.fall.title", **params),
        explanation=phrase("alert.fall.explanation", **params),
    )
    old_id = await _open_alert(sessionmaker, home)  # raised before structured texts
    async with sessionmaker() as session, session.begin():
        old = await session.get(Alert, old_id)
        assert old is not None
        old.kind = "smoke"  # one open alert per kind: make room for the fall below
    alert_id = await _open_alert(sessionmaker, home, text=words)
    token = await login(http, home.guardian_email, home.password)
    listed = {a["id"]: a for a in (await http.get("/api/v1/alerts", headers=auth(token))).json()}
    assert listed[old_id]["text"] is None
    assert listed[alert_id]["text"] == {
        "title": {"key": "alert.fall.title", "params": params},
        "explanation": {"key": "alert.fall.explanation", "params": params},
    }
    detail = (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(token))).json()
    assert detail["text"] == listed[alert_id]["text"]

    staff = await login(http, home.staff_email, home.password)
    ack = await http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=auth(staff))
    assert ack.status_code == 200 and ack.json()["text"] == listed[alert_id]["text"]
    entries = await redis.xrange(ALERTS_STREAM) or []
    [announced] = [m for _, f in entries if f and (m := AlertMessage.from_stream(f)).id == alert_id]
    assert announced.text == words
    assert announced.to_event()["text"] == listed[alert_id]["text"]
