"""Who may look into whose home: only care staff who see the resident, only for an open
emergency or with recorded consent; a carer cannot use another carer's session."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import (
    VIDEO_ANSWER_EVENT,
    VIDEO_ERROR_EVENT,
    VIDEO_OFFER_EVENT,
    VIDEO_STATE_EVENT,
)
from sst_core.db.models import AuditEntry, Resident, User, VideoSession
from sst_devices.video_viewer import Viewer
from tests.backend.conftest import login
from tests.factories import _HASH, PASSWORD, HomeFixture, make_home
from tests.video.conftest import CONNECT_TIMEOUT_S
from tests.video.scenario import (
    StartEmergency,
    answered_viewer,
    camera_closing,
    open_emergency,
    state_is,
)


async def _ask(http: httpx.AsyncClient, email: str | None, resident_id: int) -> httpx.Response:
    headers = {}
    if email is not None:
        headers["Authorization"] = f"Bearer {await login(http, email, PASSWORD)}"
    return await http.post(f"/api/v1/residents/{resident_id}/video-sessions", headers=headers)


async def _charge_nurse(sessionmaker: async_sessionmaker[AsyncSession], facility_id: int) -> str:
    email = f"charge-{uuid.uuid4().hex[:8]}@example.test"
    async with sessionmaker() as session, session.begin():
        session.add(
            User(
                facility_id=facility_id,
                email=email,
                full_name="Charge Nurse",
                role="staff",
                is_charge_nurse=True,
                password_hash=_HASH,
            )
        )
    return email


async def test_only_staff_who_see_the_resident_may_ask(
    vhttp: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await open_emergency(sessionmaker, home.resident_id)
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    elsewhere = await make_home(sessionmaker)
    assert (await _ask(vhttp, None, home.resident_id)).status_code == 401
    # Guardians and admins do not look into homes; staff of other residents do not see this one.
    for email, status in (
        (home.guardian_email, 403),
        (home.admin_email, 403),
        (neighbour.staff_email, 404),
        (elsewhere.staff_email, 404),
    ):
        response = await _ask(vhttp, email, home.resident_id)
        assert response.status_code == status, (email, response.text)
    assert (await _ask(vhttp, home.staff_email, 2**31 - 1)).status_code == 404
    # The assigned carer and the charge nurse may (the emergency is open).
    charge = await _charge_nurse(sessionmaker, home.facility_id)
    for email in (home.staff_email, charge):
        response = await _ask(vhttp, email, home.resident_id)
        assert response.status_code == 201, response.text
        assert response.json()["basis"] == "alert"
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(VideoSession).where(VideoSession.resident_id == home.resident_id)
            )
        ).all()
    assert len(rows) == 2  # the refused requests left nothing behind


async def test_without_emergency_only_recorded_consent_allows_video_and_unanswered_ends(
    vhttp: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    carers: Any,
) -> None:
    response = await _ask(vhttp, home.staff_email, home.resident_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_video_basis"
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Resident).where(Resident.id == home.resident_id).values(video_consent=True)
        )
    carer = await carers(home.staff_email, PASSWORD)
    response = await _ask(vhttp, home.staff_email, home.resident_id)
    assert response.status_code == 201, response.text
    started = response.json()
    assert started["basis"] == "consent" and started["alert_id"] is None
    # No camera agent answers for this hub: the session ends by itself, and says why.
    ended = await carer.next(
        VIDEO_STATE_EVENT, within_s=CONNECT_TIMEOUT_S + 10, where=state_is(started["id"], "ended")
    )
    assert ended["reason"] == "no_answer"
    async with sessionmaker() as session:
        row = await session.get(VideoSession, started["id"])
        assert row is not None and row.state == "ended" and row.connected_at is None
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.details["session"].astext == started["id"]
                )
            )
        ).all()
    assert sorted(actions) == ["video.ended", "video.requested"]


async def test_another_carer_is_refused_at_signaling(
    vhttp: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    carers: Any,
) -> None:
    await open_emergency(sessionmaker, home.resident_id)
    owner = await carers(home.staff_email, PASSWORD)
    # The charge nurse sees the resident, but this session is not theirs.
    intruder_email = await _charge_nurse(sessionmaker, home.facility_id)
    intruder = await carers(intruder_email, PASSWORD)
    started = (await _ask(vhttp, home.staff_email, home.resident_id)).json()
    viewer = Viewer(started["ice_servers"], relay_only=True)
    try:
        offer = {"session_id": started["id"], "sdp": await viewer.offer()}
        ack = await intruder.send(VIDEO_OFFER_EVENT, offer)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
        error = await intruder.next(VIDEO_ERROR_EVENT)
        assert error == ack["error"] and error["session_id"] == started["id"]
        # The owner's session is untouched by the refusal: its offer still goes through.
        assert await owner.send(VIDEO_OFFER_EVENT, offer) == {"ok": True}
    finally:
        await viewer.close()
    assert owner.inbox[VIDEO_ANSWER_EVENT].empty()
    async with sessionmaker() as session:
        refused = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "video.refused",
                    AuditEntry.details["session"].astext == started["id"],
                )
            )
        ).one()
        intruder_id = (
            await session.scalars(select(User.id).where(User.email == intruder_email))
        ).one()
    assert refused.actor_id == intruder_id and refused.details["reason"] == "not_your_session"


async def test_resolving_the_emergency_ends_the_call(
    vhttp: httpx.AsyncClient, home: HomeFixture, emergency: StartEmergency
) -> None:
    scene = await emergency(home)
    camera, carer, started = scene.camera, scene.carer, scene.started
    async with answered_viewer(carer, started):
        await carer.next(VIDEO_STATE_EVENT, where=state_is(started["id"], "connected"))
        response = await vhttp.post(
            f"/api/v1/alerts/{scene.alert_id}/resolve",
            json={"note": "Found on the floor, unhurt."},
            headers=scene.staff,
        )
        assert response.status_code == 200, response.text
        ended = await carer.next(VIDEO_STATE_EVENT, where=state_is(started["id"], "ended"))
        assert ended["reason"] == "alert_resolved"
    await camera_closing(camera)
    assert not camera.sessions, "the camera kept streaming after the emergency was resolved"
