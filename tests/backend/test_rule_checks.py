"""GET /residents/{id}/rule-checks: each windowed rule's latest verdict, and who may see it;
the `rule_check` event: a changed check reaches the same people live."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.detection_store import StoredRule, save_states
from sst_ai_inference.hysteresis import RuleState
from sst_ai_inference.windowed import WINDOWED_RULES, WindowedRule
from sst_backend.realtime.events import RULE_CHECK_EVENT
from sst_core.const import RULE_CHECKS_STREAM
from sst_core.db.models import Alert
from sst_core.rule_checks import RuleCheck, RuleCheckMessage
from sst_core.thresholds import RuleName
from tests.ai_inference.scenario import detector
from tests.backend.conftest import login
from tests.backend.live import LiveClient
from tests.factories import make_home

API = "/api/v1"
NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 12:00 in Seoul


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_carers_see_which_checks_cannot_tell_and_why_others_get_404(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker)  # its hub never heard from, no readings
    other = await make_home(sessionmaker)
    await detector(engine, redis).tick(NOON, residents=[home.resident_id])
    url = f"{API}/residents/{home.resident_id}/rule-checks"

    for email in (home.staff_email, home.guardian_email, home.admin_email):
        token = await login(http, email, home.password)
        response = await http.get(url, headers=_auth(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["resident_id"] == home.resident_id
        assert datetime.fromisoformat(body["checked_at"]) == NOON
        checks = {check["rule"]: check for check in body["checks"]}
        assert [check["rule"] for check in body["checks"]] == [rule.value for rule in RuleName]
        assert checks["inactivity"] == {
            "rule": "inactivity",
            "verdict": "unknown",
            "reason": "no recent data from the home",
            "reason_text": {"key": "unknown.no_data", "params": {}},
            "decided_at": "2026-03-02T03:00:00Z",
            "alert_id": None,
        }
        silent = checks["sensor_silent"]
        assert (silent["verdict"], silent["reason"]) == ("unknown", "hub not known to be online")
        assert silent["reason_text"] == {"key": "unknown.hub_offline", "params": {}}

    # Never judged: every rule is there, saying nothing yet (not "fine").
    token = await login(http, other.staff_email, other.password)
    empty = await http.get(f"{API}/residents/{other.resident_id}/rule-checks", headers=_auth(token))
    assert empty.status_code == 200
    assert empty.json()["checked_at"] is None
    assert {check["verdict"] for check in empty.json()["checks"]} == {None}

    # Another home's carers learn nothing, not even that the resident exists; nor does the
    # guardian of another resident of the same facility.
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    for email in (
        other.staff_email,
        other.guardian_email,
        other.admin_email,
        neighbour.guardian_email,
    ):
        token = await login(http, email, other.password)
        hidden = await http.get(url, headers=_auth(token))
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "not_found"
    assert (await http.get(url)).status_code == 401


async def test_an_evaluation_that_failed_claims_no_check(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The rules failed for the resident (a bug her data reaches): the page still says when
    they last judged her, and what they said then."""
    home = await make_home(sessionmaker)
    await detector(engine, redis).tick(NOON, residents=[home.resident_id])
    url = f"{API}/residents/{home.resident_id}/rule-checks"
    token = await login(http, home.staff_email, home.password)
    before = (await http.get(url, headers=_auth(token))).json()
    assert datetime.fromisoformat(before["checked_at"]) == NOON

    def explodes(view: Any, t: Any, params: Any, wake: Any) -> Any:
        raise ZeroDivisionError("a bug that this resident's data reaches")

    rules = (WindowedRule(**{**WINDOWED_RULES[0].__dict__, "judge": explodes}), *WINDOWED_RULES[1:])
    failing = detector(engine, redis, rules=rules)
    await failing.tick(NOON + timedelta(minutes=5), residents=[home.resident_id])
    assert failing.failures == 1
    assert (await http.get(url, headers=_auth(token))).json() == before


async def test_an_alert_check_points_to_its_alert(
    http: httpx.AsyncClient, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    home = await make_home(sessionmaker)
    raised = NOON - timedelta(minutes=20)
    async with sessionmaker() as session, session.begin():
        alert = Alert(
            resident_id=home.resident_id,
            kind="no_wake_up",
            severity="high",
            state="open",
            title="Not up",
            explanation="Not up by 09:30.",
            count=1,
            opened_at=raised,
            last_seen_at=raised,
        )
        session.add(alert)
        await session.flush()
        alert_id = alert.id
    slots = {
        "no_wake_up": StoredRule(
            RuleState(True, raised, None),
            alert_id,
            check=RuleCheck(verdict="alert", decided_at=raised),
        ),
        # A rule that once pointed at an alert but is fine now names no alert.
        "inactivity": StoredRule(
            RuleState(), alert_id, check=RuleCheck(verdict="fine", decided_at=NOON)
        ),
    }
    async with engine.begin() as conn:
        await save_states(conn, home.resident_id, slots)
    token = await login(http, home.guardian_email, home.password)
    body = (
        await http.get(f"{API}/residents/{home.resident_id}/rule-checks", headers=_auth(token))
    ).json()
    checks = {check["rule"]: check for check in body["checks"]}
    assert (checks["no_wake_up"]["verdict"], checks["no_wake_up"]["alert_id"]) == (
        "alert",
        alert_id,
    )
    assert datetime.fromisoformat(checks["no_wake_up"]["decided_at"]) == raised
    assert (checks["inactivity"]["verdict"], checks["inactivity"]["alert_id"]) == ("fine", None)
    assert checks["night_exit"]["verdict"] is None


async def _live(
    made: list[LiveClient],
    url: str,
    http: httpx.AsyncClient,
    email: str,
    password: str,
    **auth: object,
) -> LiveClient:
    client = await LiveClient().connect(url, token=await login(http, email, password), **auth)
    made.append(client)
    return client


def _checks_in(events: list[tuple[str, Any]], resident_id: int) -> list[dict[str, Any]]:
    return [d for name, d in events if name == RULE_CHECK_EVENT and d["resident_id"] == resident_id]


def _checks_of(client: LiveClient, resident_id: int) -> list[dict[str, Any]]:
    return _checks_in(client.events, resident_id)


async def test_a_check_the_detector_changes_reaches_those_who_may_read_it_live(
    backend_url: str,
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
    clients: list[LiveClient],
) -> None:
    home = await make_home(sessionmaker)  # its hub never heard from, no readings
    other = await make_home(sessionmaker)  # another facility
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    readers = [
        await _live(clients, backend_url, http, email, home.password)
        for email in (home.staff_email, home.guardian_email, home.admin_email)
    ]
    outsiders = [
        await _live(clients, backend_url, http, email, other.password)
        for email in (other.staff_email, other.guardian_email, other.admin_email)
    ]
    # The guardian of another resident of the same facility is no reader either.
    outsiders.append(
        await _live(clients, backend_url, http, neighbour.guardian_email, neighbour.password)
    )

    judge = detector(engine, redis)
    await judge.tick(NOON, residents=[home.resident_id])

    for client in readers:
        unknown = await client.first(
            RULE_CHECK_EVENT, resident_id=home.resident_id, rule="inactivity"
        )
        assert isinstance(unknown["event_id"], int)
        assert {k: v for k, v in unknown.items() if k != "event_id"} == {
            "resident_id": home.resident_id,
            "rule": "inactivity",
            "verdict": "unknown",
            "reason": "no recent data from the home",
            "reason_text": {"key": "unknown.no_data", "params": {}},
            "decided_at": "2026-03-02T03:00:00Z",
            "alert_id": None,
            "checked_at": NOON.isoformat(),
        }
        await client.wait_for(
            lambda events: len(_checks_in(events, home.resident_id)) == len(RuleName)
        )
    # One event per rule, each once (staff and admins sit in two rooms it goes to), as the
    # endpoint says it.
    staff = readers[0]
    checks = _checks_of(staff, home.resident_id)
    assert sorted(c["rule"] for c in checks) == sorted(rule.value for rule in RuleName)
    silent = next(c for c in checks if c["rule"] == "sensor_silent")
    assert (silent["verdict"], silent["reason"]) == ("unknown", "hub not known to be online")

    # Judged again with nothing new: the checks did not change, so nothing is announced.
    await judge.tick(NOON + timedelta(minutes=1), residents=[home.resident_id])
    await asyncio.sleep(0.5)
    assert len(_checks_of(staff, home.resident_id)) == len(RuleName)
    # Another facility's people, and the neighbour's guardian, learn nothing of this resident.
    for outsider in outsiders:
        assert outsider.of(RULE_CHECK_EVENT) == []

    # A malformed entry is skipped; the relay goes on with the next one, in order.
    await redis.xadd(RULE_CHECKS_STREAM, {"check": b"{not json"})
    await redis.xadd(RULE_CHECKS_STREAM, {"something": b"else"})
    fine = RuleCheckMessage(
        resident_id=home.resident_id,
        facility_id=home.facility_id,
        rule=RuleName.INACTIVITY,
        check=RuleCheck(verdict="fine", decided_at=NOON + timedelta(minutes=2)),
        checked_at=NOON + timedelta(minutes=2),
    )
    await redis.xadd(RULE_CHECKS_STREAM, fine.to_stream())
    now_fine = await staff.first(RULE_CHECK_EVENT, resident_id=home.resident_id, verdict="fine")
    assert (now_fine["rule"], now_fine["reason"]) == ("inactivity", None)
    assert now_fine["event_id"] > unknown["event_id"]

    # A page that reconnects catches up on each rule's newest check only.
    before = min(c["event_id"] for c in checks) - 1
    guardian = await _live(
        clients, backend_url, http, home.guardian_email, home.password, last_event_id=before
    )
    await guardian.first("caught_up")
    replayed = _checks_of(guardian, home.resident_id)
    assert all(c["replayed"] is True for c in replayed)
    assert len(replayed) == len(RuleName)
    assert next(c for c in replayed if c["rule"] == "inactivity")["verdict"] == "fine"
    # The neighbour's guardian catching up from the same point is replayed none of them, and
    # learnt nothing live either.
    stranger = await _live(
        clients,
        backend_url,
        http,
        neighbour.guardian_email,
        neighbour.password,
        last_event_id=before,
    )
    await stranger.first("caught_up")
    assert stranger.of(RULE_CHECK_EVENT) == []
    for outsider in outsiders:
        assert outsider.of(RULE_CHECK_EVENT) == []
