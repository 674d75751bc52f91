"""Each channel delivers to its real local receiver; a failing channel is retried with
back-off and blocks none of the others; preferences are the user's own."""

from __future__ import annotations

import asyncio
import time
from email.header import decode_header, make_header

import httpx
import pytest
import socketio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.notifications.webhook import sign
from sst_backend.realtime.rooms import NOTIFICATION_EVENT
from sst_backend.scheduler import Scheduler
from sst_core.const import socketio_channel
from sst_core.db.models import Resident
from sst_core.localized import render
from sst_core.texts import AlertText, Text, phrase
from tests.backend.alerting import (
    deliveries,
    events,
    fast_settings,
    open_alert,
    recorder,
    running,
    set_channels,
    set_policy,
    user_id,
)
from tests.backend.conftest import login
from tests.backend.receivers import (
    Hook,
    body_text,
    push_service,
    smtp_server,
    vapid_keys,
    webhook_receiver,
)
from tests.factories import HomeFixture
from tests.hub_gateway.helpers import eventually

SECRET = "guardian-gateway-secret-0123456789abcdef"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_every_channel_reaches_its_real_receiver(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await set_policy(sessionmaker, home, [("guardians", 0)])
    guardian = await user_id(sessionmaker, home.guardian_email)
    private, public = vapid_keys()
    async with (
        smtp_server() as (mailbox, port),
        webhook_receiver() as hooks,
        push_service() as push,
    ):
        hooks_hook = hooks.hooks["g"] = Hook(secret=SECRET)
        await set_channels(
            sessionmaker,
            guardian,
            ["in_app", "email", "webhook", "push"],
            webhook_url=hooks.url("g"),
            webhook_secret=SECRET,
            push_subscription=push.subscribe("phone"),
        )
        emitted, emit = recorder()
        settings = fast_settings(smtp_port=port, vapid_private_key=private, vapid_public_key=public)
        alert_id = await open_alert(sessionmaker, home)
        async with running(Scheduler(settings=settings, sessionmaker=sessionmaker, emit=emit)):

            async def all_sent() -> bool:
                rows = await deliveries(sessionmaker, alert_id)
                return len(rows) == 4 and all(d.state == "sent" for d in rows)

            await eventually(all_sent, within=10)
    assert "care team" in body_text(mailbox.to(home.guardian_email)[0])
    assert len(hooks_hook.received) == 1 and hooks_hook.rejected == 0
    assert hooks_hook.received[0]["alert_id"] == alert_id
    assert "Fall detected in the Bathroom" in hooks_hook.received[0]["text"]
    assert push.refused == []
    assert push.delivered[0]["alert_id"] == alert_id  # decrypted with the browser's keys
    assert push.headers[0]["urgency"] == "high"
    ours = [(e, room) for e, data, room in emitted if data["alert_id"] == alert_id]
    assert ours == [(NOTIFICATION_EVENT, f"user:{guardian}")]
    notified = {
        e.details["channel"] for e in await events(sessionmaker, alert_id) if e.action == "notified"
    }
    assert notified == {"in_app", "email", "webhook", "push"}


async def test_the_receiver_rejects_a_wrong_signature_and_the_delivery_fails(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await set_policy(sessionmaker, home, [("guardians", 0)])
    guardian = await user_id(sessionmaker, home.guardian_email)
    async with webhook_receiver() as hooks:
        hook = hooks.hooks["g"] = Hook(secret=SECRET)
        # A forged request never gets in...
        async with httpx.AsyncClient() as client:
            body = b'{"alert_id": 1}'
            forged = await client.post(
                hooks.url("g"),
                content=body,
                headers={
                    "X-SST-Timestamp": str(int(time.time())),
                    "X-SST-Signature": sign("not-the-secret-" * 3, int(time.time()), body),
                },
            )
            assert forged.status_code == 401
        # ...and SST signing with a secret the receiver does not share fails for good.
        await set_channels(
            sessionmaker, guardian, ["webhook"], webhook_url=hooks.url("g"), webhook_secret="x" * 40
        )
        alert_id = await open_alert(sessionmaker, home)
        scheduler = Scheduler(settings=fast_settings(), sessionmaker=sessionmaker, emit=None)
        async with running(scheduler):

            async def failed() -> bool:
                rows = await deliveries(sessionmaker, alert_id)
                return bool(rows) and rows[0].state == "failed"

            await eventually(failed, within=5)
    assert hook.received == [] and hook.rejected == 2
    row = (await deliveries(sessionmaker, alert_id))[0]
    assert row.attempt == 1 and row.error == "webhook answered 401"
    assert "notification_failed" in [e.action for e in await events(sessionmaker, alert_id)]


async def test_a_failing_channel_is_retried_with_back_off_and_blocks_no_other(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await set_policy(sessionmaker, home, [("guardians", 0), ("assigned_staff", 0)])
    guardian = await user_id(sessionmaker, home.guardian_email)
    staff = await user_id(sessionmaker, home.staff_email)
    async with smtp_server() as (mailbox, port), webhook_receiver() as hooks:
        flaky = hooks.hooks["flaky"] = Hook(secret=SECRET, fail_first=2)
        stuck = hooks.hooks["stuck"] = Hook(secret=SECRET, hang_s=4)
        await set_channels(
            sessionmaker,
            guardian,
            ["webhook", "email"],
            webhook_url=hooks.url("flaky"),
            webhook_secret=SECRET,
        )
        await set_channels(
            sessionmaker,
            staff,
            ["webhook", "email"],
            webhook_url=hooks.url("stuck"),
            webhook_secret=SECRET,
        )
        settings = fast_settings(smtp_port=port, delivery_timeout_s=1.0, delivery_max_attempts=3)
        alert_id = await open_alert(sessionmaker, home)
        started = time.monotonic()
        async with running(Scheduler(settings=settings, sessionmaker=sessionmaker, emit=None)):

            async def mails_in() -> bool:
                return bool(mailbox.to(home.guardian_email) and mailbox.to(home.staff_email))

            await eventually(mails_in, within=5)
            mails_after = time.monotonic() - started

            async def settled() -> bool:
                rows = await deliveries(sessionmaker, alert_id)
                return len(rows) == 4 and all(d.state != "pending" for d in rows)

            await eventually(settled, within=20)
    # E-mail went out at once, while one webhook hung and the other answered 503.
    assert mails_after < 1.0, mails_after
    rows = {(d.channel, d.recipient_user_id): d for d in await deliveries(sessionmaker, alert_id)}
    flaky_row, stuck_row = rows[("webhook", guardian)], rows[("webhook", staff)]
    assert flaky_row.state == "sent" and flaky_row.attempt == 3
    assert len(flaky.received) == 1 and len(flaky.arrivals) == 3
    gaps = [b - a for a, b in zip(flaky.arrivals, flaky.arrivals[1:], strict=False)]
    # Back-off doubles from 0.3 s: 0.3 s, then 0.6 s (plus up to a tick).
    assert 0.3 <= gaps[0] < 0.8 and 0.6 <= gaps[1] < 1.2, gaps
    assert stuck_row.state == "failed" and stuck_row.attempt == 3
    assert stuck_row.error is not None and "timed out" in stuck_row.error
    assert len(stuck.arrivals) == 3  # each attempt reached it and was given up after 1 s
    assert rows[("email", guardian)].attempt == 1 and rows[("email", staff)].attempt == 1


async def test_in_app_notification_reaches_the_users_own_socket(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_env: dict[str, str],
) -> None:
    await set_policy(sessionmaker, home, [("guardians", 0)])
    token = await login(http, home.guardian_email, home.password)
    staff_token = await login(http, home.staff_email, home.password)
    clients, inboxes = [], []
    for t in (token, staff_token):
        client = socketio.AsyncClient(reconnection=False)
        inbox: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        client.on(NOTIFICATION_EVENT, inbox.put)
        await client.connect(backend_url, auth={"token": t}, wait_timeout=5)
        clients.append(client)
        inboxes.append(inbox)
    # The scheduler emits through Socket.IO's Redis channel, as in another backend process.
    manager = socketio.AsyncRedisManager(
        test_env["SST_REDIS_URL"],
        channel=socketio_channel(test_env["SST_REDIS_URL"]),
        write_only=True,
    )

    async def emit(event: str, data: dict[str, object], room: str) -> None:
        await manager.emit(event, data, room=room, namespace="/")

    try:
        alert_id = await open_alert(sessionmaker, home)
        async with running(
            Scheduler(settings=fast_settings(), sessionmaker=sessionmaker, emit=emit)
        ):
            note = await asyncio.wait_for(inboxes[0].get(), timeout=5)
        assert note["alert_id"] == alert_id and note["purpose"] == "alert"
        assert "care team" in str(note["text"])
        await asyncio.sleep(0.3)
        assert inboxes[1].empty(), "another user's notification leaked"
    finally:
        for client in clients:
            await client.disconnect()
        if getattr(manager, "redis", None) is not None:
            await manager.redis.aclose()


async def test_preferences_are_validated_and_secrets_never_shown(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    token = await login(http, home.guardian_email, home.password)
    url = "/api/v1/me/notification-preferences"
    default = (await http.get(url, headers=auth(token))).json()
    assert default["channels"] == ["in_app", "email"]
    no_secret = await http.put(
        url, headers=auth(token), json={"channels": ["webhook"], "webhook_url": "https://x.org/h"}
    )
    assert no_secret.status_code == 422 and no_secret.json()["error"]["code"] == "invalid_request"
    short = {"channels": ["webhook"], "webhook_url": "https://x.org/h", "webhook_secret": "short"}
    assert (await http.put(url, headers=auth(token), json=short)).status_code == 422
    good = {**short, "webhook_secret": SECRET, "daily_summary": False}
    saved = await http.put(url, headers=auth(token), json=good)
    assert saved.status_code == 200, saved.text
    assert saved.json()["webhook_secret_set"] is True and SECRET not in saved.text
    kept = await http.put(
        url,
        headers=auth(token),
        json={"channels": ["webhook", "email"], "webhook_url": "https://x.org/h"},
    )
    assert kept.status_code == 200 and kept.json()["webhook_secret_set"] is True
    assert (await http.put(url, json=good)).status_code == 401
    push = await http.put(url, headers=auth(token), json={"channels": ["push"]})
    assert push.status_code == 422


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", "http://10.0.0.8/hook", "ftp://x.org/"])
async def test_webhooks_to_the_inside_are_refused_for_good(url: str) -> None:
    from sst_backend.notifications.addresses import check_public_url
    from sst_backend.notifications.errors import DeliveryError

    with pytest.raises(DeliveryError) as caught:
        await check_public_url(url, allow_private=False)
    assert caught.value.permanent


async def test_each_recipient_is_told_in_their_language_and_webhooks_carry_the_keys(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> None:
    token = await login(http, home.guardian_email, home.password)
    refused = await http.put("/api/v1/me/language", json={"language": "fr"}, headers=auth(token))
    assert refused.status_code == 422
    chosen = await http.put("/api/v1/me/language", json={"language": "ko"}, headers=auth(token))
    assert chosen.status_code == 200 and chosen.json()["language"] == "ko"
    me = await http.get("/api/v1/me", headers=auth(token))
    assert me.json()["language"] == "ko"

    await set_policy(sessionmaker, home, [("assigned_staff", 0), ("guardians", 0)])
    guardian = await user_id(sessionmaker, home.guardian_email)
    async with sessionmaker() as session:
        resident = await session.get(Resident, home.resident_id)
        assert resident is not None
        name = resident.full_name
    room = {"room": "Bathroom", "room_kind": "bathroom", "time": "14:03", "name": name}
    words = AlertText(
        title=phrase("alert.fall.title", **room),
        explanation=phrase("alert.fall.explanation", **room),
    )
    async with smtp_server() as (mailbox, port), webhook_receiver() as hooks:
        hook = hooks.hooks["g"] = Hook(secret=SECRET)
        await set_channels(
            sessionmaker,
            guardian,
            ["email", "webhook"],
            webhook_url=hooks.url("g"),
            webhook_secret=SECRET,
        )
        settings = fast_settings(smtp_port=port)
        _, emit = recorder()  # staff's in-app channel
        alert_id = await open_alert(sessionmaker, home, text=words.model_dump(mode="json"))
        async with running(Scheduler(settings=settings, sessionmaker=sessionmaker, emit=emit)):

            async def all_sent() -> bool:
                rows = await deliveries(sessionmaker, alert_id)
                return len(rows) >= 3 and all(d.state == "sent" for d in rows)

            await eventually(all_sent, within=10)

    def subject(address: str) -> str:
        return str(make_header(decode_header(mailbox.to(address)[0]["Subject"])))

    # The guardian chose Korean: the alert's own words are translated too, the room included.
    assert subject(home.guardian_email) == f"{name} 님 관련: 낙상 감지: 욕실"
    korean = body_text(mailbox.to(home.guardian_email)[0])
    assert "14:03(집 시각)에 욕실에서 낙상이 감지되었습니다" in korean
    # The second step: the team has not confirmed yet.
    assert "돌봄 팀이 아직 대응을 확인하지 않아" in korean and "Fall" not in korean
    # Staff never chose: English, as before.
    assert subject(home.staff_email) == f"[CRITICAL] Fall detected in the Bathroom: {name}"
    assert f"What to do: call or visit {name} now" in body_text(mailbox.to(home.staff_email)[0])
    # The webhook: the Korean words, and the same message as key + params for the receiver.
    (payload,) = hook.received
    message = payload["message"]
    assert message["language"] == "ko"
    assert message["subject"]["key"] == "notify.guardian.subject"
    body = Text.model_validate(message["body"])
    assert body.key == "notify.guardian.body"
    assert body.params["explanation"] == words.explanation
    assert render(body, "ko") == payload["text"]
    assert render(body, "en").startswith(f"We noticed something that may need attention for {name}")


async def test_the_alert_detail_says_who_was_reached_how_and_with_what_outcome(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await set_policy(sessionmaker, home, [("assigned_staff", 0), ("guardians", 0)])
    guardian = await user_id(sessionmaker, home.guardian_email)
    staff = await user_id(sessionmaker, home.staff_email)
    async with smtp_server() as (_mailbox, port), webhook_receiver() as hooks:
        hooks.hooks["down"] = Hook(secret=SECRET, fail_first=100)  # 503: worth retrying
        hooks.hooks["g"] = Hook(secret=SECRET)  # SST signs with another secret: 401, given up
        await set_channels(
            sessionmaker,
            staff,
            ["in_app", "email", "webhook"],
            webhook_url=hooks.url("down"),
            webhook_secret=SECRET,
        )
        await set_channels(
            sessionmaker,
            guardian,
            ["webhook", "email"],
            webhook_url=hooks.url("g"),
            webhook_secret="x" * 40,
        )
        # A long back-off keeps the failing webhook between its attempts while we look.
        settings = fast_settings(smtp_port=port, delivery_backoff_s=600)
        alert_id = await open_alert(sessionmaker, home)
        _emitted, emit = recorder()
        async with running(Scheduler(settings=settings, sessionmaker=sessionmaker, emit=emit)):

            async def tried_all() -> bool:
                rows = await deliveries(sessionmaker, alert_id)
                return len(rows) == 5 and all(
                    d.attempt >= 1 and d.claimed_until is None for d in rows
                )

            await eventually(tried_all, within=10)

    staff_token = await login(http, home.staff_email, home.password)
    detail = (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(staff_token))).json()
    seen = {(d["recipient_user_id"], d["channel"]): d for d in detail["deliveries"]}
    assert {key: d["outcome"] for key, d in seen.items()} == {
        (staff, "in_app"): "sent",
        (staff, "email"): "sent",
        (staff, "webhook"): "retrying",
        (guardian, "webhook"): "failed",
        (guardian, "email"): "sent",
    }
    retrying, failed = seen[(staff, "webhook")], seen[(guardian, "webhook")]
    assert retrying["error"] == "webhook answered 503" and retrying["attempts"] == 1
    assert retrying["next_retry_at"] is not None
    assert failed["error"] == "webhook answered 401" and failed["next_retry_at"] is None
    assert seen[(staff, "email")]["sent_at"] is not None and seen[(staff, "email")]["error"] is None
    assert seen[(guardian, "email")]["recipient"] and all(
        d["purpose"] == "alert" for d in seen.values()
    )
    told = [
        (e["action"], e["details"]["recipient_user_id"], e["details"]["channel"])
        for e in detail["timeline"]
        if e["action"] in ("notified", "notification_failed")
    ]
    assert sorted(told) == sorted(
        [
            ("notified", staff, "in_app"),
            ("notified", staff, "email"),
            ("notified", guardian, "email"),
            ("notification_failed", guardian, "webhook"),
        ]
    )

    # The guardian sees how they themselves were reached, without the channel's error text,
    # and nothing of how staff were.
    token = await login(http, home.guardian_email, home.password)
    mine = (await http.get(f"/api/v1/alerts/{alert_id}", headers=auth(token))).json()
    assert {(d["recipient_user_id"], d["channel"], d["outcome"]) for d in mine["deliveries"]} == {
        (guardian, "webhook", "failed"),
        (guardian, "email", "sent"),
    }
    assert all(d["error"] is None for d in mine["deliveries"])
    theirs = [e for e in mine["timeline"] if e["action"] in ("notified", "notification_failed")]
    assert {e["details"]["recipient_user_id"] for e in theirs} == {guardian}
    assert all("error" not in e["details"] for e in mine["timeline"])
