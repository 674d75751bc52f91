"""Your own notification preferences, and the key browsers need to subscribe to Web Push."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Request

from sst_backend.audit import record
from sst_backend.auth.dependencies import CurrentUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError
from sst_backend.notifications.deliveries import DEFAULT_CHANNELS
from sst_backend.notifications.schemas import Channel, PreferencesIn, PreferencesOut, VapidKeyOut
from sst_core.db.models import NotificationPreference

router = APIRouter(tags=["notifications"])


def _out(prefs: NotificationPreference | None) -> PreferencesOut:
    if prefs is None:
        return PreferencesOut(
            channels=cast(list[Channel], DEFAULT_CHANNELS),
            webhook_url=None,
            webhook_secret_set=False,
            push_endpoint=None,
            daily_summary=True,
        )
    subscription = prefs.push_subscription or {}
    return PreferencesOut(
        channels=cast(list[Channel], prefs.channels),
        webhook_url=prefs.webhook_url,
        webhook_secret_set=bool(prefs.webhook_secret),
        push_endpoint=subscription.get("endpoint"),
        daily_summary=prefs.daily_summary,
    )


@router.get(
    "/me/notification-preferences", response_model=PreferencesOut, responses=ERROR_RESPONSES
)
async def get_preferences(user: CurrentUser, session: Session) -> PreferencesOut:
    """Which channels reach you (in-app and e-mail until you choose)."""
    return _out(await session.get(NotificationPreference, user.id))


@router.put(
    "/me/notification-preferences", response_model=PreferencesOut, responses=ERROR_RESPONSES
)
async def put_preferences(
    body: PreferencesIn, user: CurrentUser, session: Session
) -> PreferencesOut:
    """Choose your channels; a webhook needs its URL and signing secret, push a subscription."""
    prefs = await session.get(NotificationPreference, user.id, with_for_update=True)
    secret = body.webhook_secret or (prefs.webhook_secret if prefs else None)
    _check(body, secret)
    if prefs is None:
        prefs = NotificationPreference(user_id=user.id)
        session.add(prefs)
    prefs.channels = list(body.channels)
    prefs.webhook_url, prefs.webhook_secret = body.webhook_url, secret
    prefs.push_subscription = (
        body.push_subscription.model_dump() if body.push_subscription else None
    )
    prefs.daily_summary, prefs.updated_at = body.daily_summary, datetime.now(UTC)
    record(
        session,
        actor=user,
        action="notification_preferences.save",
        target_type="user",
        target_id=user.id,
        details={"channels": list(body.channels), "daily_summary": body.daily_summary},
    )
    return _out(prefs)


def _check(body: PreferencesIn, secret: str | None) -> None:
    if "webhook" in body.channels and not (body.webhook_url and secret):
        raise APIError(
            422, "invalid_request", "The webhook channel needs webhook_url and webhook_secret."
        )
    if "push" in body.channels and body.push_subscription is None:
        raise APIError(422, "invalid_request", "The push channel needs a push_subscription.")


@router.get(
    "/notifications/vapid-public-key", response_model=VapidKeyOut, responses=ERROR_RESPONSES
)
async def vapid_public_key(user: CurrentUser, request: Request) -> VapidKeyOut:
    """The applicationServerKey for Web Push (null when this server has none configured)."""
    return VapidKeyOut(public_key=request.app.state.settings.vapid_public_key)
