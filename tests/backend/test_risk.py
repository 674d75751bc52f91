"""GET /residents/{id}/risk: the newest routine risk score, its trend, and who may see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.risk_store import RiskStore
from sst_ai_inference.routine import ResidentScore
from sst_backend.risk.service import trend
from sst_core.texts import english, phrase
from tests.backend.conftest import login
from tests.factories import make_home

API = "/api/v1"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_trend_needs_a_move_of_five_points() -> None:
    assert trend([]) is None and trend([40]) is None
    assert trend([40, 44]) == "flat"
    assert trend([40, 70, 45]) == "up"
    assert trend([80, 60]) == "down"


async def test_staff_and_guardian_see_the_score_with_its_trend_others_get_404(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker)
    other = await make_home(sessionmaker)
    now = datetime.now(UTC).replace(microsecond=0)
    store = RiskStore(engine=engine, retention=timedelta(days=30))
    # Three rounds as inference writes them; the first falls outside a 24 h window.
    for hours_ago, score in ((30, 90), (3, 20), (1, 55)):
        at = now - timedelta(hours=hours_ago)
        written = await store.record(
            [ResidentScore(home.resident_id, at, score, f"score {score}", version=2)], now=at
        )
        assert written == 1

    for email in (home.staff_email, home.guardian_email, home.admin_email):
        token = await login(http, email, home.password)
        response = await http.get(f"{API}/residents/{home.resident_id}/risk", headers=_auth(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["score"], body["explanation"], body["trend"]) == (55, "score 55", "up")
        assert datetime.fromisoformat(body["at"]) == now - timedelta(hours=1)
        assert [p["score"] for p in body["series"]] == [20, 55]

    token = await login(http, home.staff_email, home.password)
    wide = await http.get(
        f"{API}/residents/{home.resident_id}/risk", params={"hours": 48}, headers=_auth(token)
    )
    assert wide.json()["trend"] == "down"  # 90 -> 55

    # Never scored: nothing to say, not an error.
    token = await login(http, other.staff_email, other.password)
    empty = await http.get(f"{API}/residents/{other.resident_id}/risk", headers=_auth(token))
    assert empty.status_code == 200
    assert empty.json() | {"resident_id": 0} == {
        "resident_id": 0,
        "score": None,
        "at": None,
        "explanation": None,
        "explanation_text": None,
        "trend": None,
        "series": [],
    }

    # The guardian of another resident learns nothing, not even that the resident exists.
    token = await login(http, other.guardian_email, other.password)
    hidden = await http.get(f"{API}/residents/{home.resident_id}/risk", headers=_auth(token))
    assert hidden.status_code == 404


async def test_the_explanation_comes_with_its_structured_text_each_deviation_its_own(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker)
    now = datetime.now(UTC).replace(microsecond=0)
    why = phrase(
        "routine.deviations",
        deviations=[
            phrase("routine.not_up", now="10:30", usual="07:30"),
            phrase("routine.since_last_activity", since="06:45", for_min=225, usual_min=90),
        ],
    )
    old = ResidentScore(home.resident_id, now - timedelta(hours=2), 40, "older words", version=1)
    new = ResidentScore(home.resident_id, now, 91, english(why), version=2, text=why)
    store = RiskStore(engine=engine, retention=timedelta(days=30))
    assert await store.record([old], now=old.at) == 1
    token = await login(http, home.guardian_email, home.password)
    url = f"{API}/residents/{home.resident_id}/risk"
    # A score kept before structured texts: the English words only.
    body = (await http.get(url, headers=_auth(token))).json()
    assert (body["explanation"], body["explanation_text"]) == ("older words", None)
    assert await store.record([new], now=now) == 1
    body = (await http.get(url, headers=_auth(token))).json()
    assert body["explanation"] == (
        "not up yet at 10:30; usually up by 07:30; no movement anywhere since 06:45 "
        "(3 h 45 min); usually 1 h 30 min at most at this time"
    )
    assert body["explanation_text"] == {
        "key": "routine.deviations",
        "params": {
            "deviations": [
                {"key": "routine.not_up", "params": {"now": "10:30", "usual": "07:30"}},
                {
                    "key": "routine.since_last_activity",
                    "params": {"since": "06:45", "for_min": 225, "usual_min": 90},
                },
            ]
        },
    }
