"""Sends one delivery over its channel, each with its own timeout, never raising past itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from py_vapid import Vapid
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.notifications.addresses import check_public_url
from sst_backend.notifications.email import send_email
from sst_backend.notifications.errors import DeliveryError
from sst_backend.notifications.push import load_vapid, send_push
from sst_backend.notifications.settings import AlertingSettings
from sst_backend.notifications.webhook import post_webhook
from sst_backend.realtime.rooms import NOTIFICATION_EVENT
from sst_core.db.models import NotificationDelivery, NotificationPreference

log = logging.getLogger("sst.backend.notifications")

# emit(event, data, room): the Socket.IO server's, or a write-only Redis manager's.
Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]


class ChannelSender:
    """The clients of every channel, opened once per scheduler and closed with it."""

    def __init__(self, settings: AlertingSettings, emit: Emit | None) -> None:
        self.settings, self.emit = settings, emit
        self._http = httpx.AsyncClient(follow_redirects=False)
        self._push_http: aiohttp.ClientSession | None = None
        key = settings.vapid_private_key
        self._vapid: Vapid | None = load_vapid(key.get_secret_value()) if key else None

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        await self._http.aclose()
        if self._push_http is not None:
            await self._push_http.close()

    async def webhook_secrets(
        self, session: AsyncSession, deliveries: list[NotificationDelivery]
    ) -> dict[int, str]:
        """Signing secrets of the users some of these webhook deliveries go to."""
        ids = {
            d.recipient_user_id
            for d in deliveries
            if d.channel == "webhook" and d.recipient_user_id is not None
        }
        if not ids:
            return {}
        rows = await session.execute(
            select(NotificationPreference.user_id, NotificationPreference.webhook_secret).where(
                NotificationPreference.user_id.in_(ids)
            )
        )
        return {int(uid): str(secret) for uid, secret in rows.all() if secret}

    async def send(self, delivery: NotificationDelivery, *, secret: str | None) -> None:
        """Deliver once, within the channel timeout; raises DeliveryError on failure."""
        try:
            await asyncio.wait_for(
                self._send(delivery, secret=secret), timeout=self.settings.delivery_timeout_s + 1
            )
        except TimeoutError as exc:
            raise DeliveryError(f"{delivery.channel} timed out") from exc

    async def _send(self, d: NotificationDelivery, *, secret: str | None) -> None:
        settings, address = self.settings, d.address or ""
        if d.channel == "in_app":
            if self.emit is None:
                raise DeliveryError("in-app notifications need the Socket.IO server")
            await self.emit(NOTIFICATION_EVENT, self._event(d), address)
        elif d.channel == "email":
            await send_email(settings, to=address, subject=d.subject, body=d.body)
        elif d.channel == "webhook":
            if d.recipient_user_id is None and settings.sms_webhook_secret is not None:
                secret = settings.sms_webhook_secret.get_secret_value()
            if not secret:
                raise DeliveryError("no webhook signing secret configured", permanent=True)
            await check_public_url(address, allow_private=settings.webhook_allow_private)
            await post_webhook(
                self._http,
                url=address,
                secret=secret,
                payload=self._event(d),
                delivery_id=d.id,
                timeout_s=settings.delivery_timeout_s,
            )
        elif d.channel == "push":
            await self._push(d, address)
        else:
            raise DeliveryError(f"unknown channel {d.channel}", permanent=True)

    async def _push(self, d: NotificationDelivery, address: str) -> None:
        if self._vapid is None:
            raise DeliveryError("Web Push needs SST_VAPID_PRIVATE_KEY", permanent=True)
        await check_public_url(address, allow_private=self.settings.webhook_allow_private)
        if self._push_http is None:
            self._push_http = aiohttp.ClientSession()
        event = self._event(d)
        # A push payload must stay under ~4 kB: the words go, their structured form does not.
        event.pop("message", None)
        subscription = event.pop("subscription", None)
        if not isinstance(subscription, dict):
            raise DeliveryError("no push subscription", permanent=True)
        urgency = "high" if d.payload.get("severity") in ("critical", "high") else "normal"
        await send_push(
            self._push_http,
            vapid=self._vapid,
            subject=self.settings.vapid_subject,
            subscription=subscription,
            payload=event,
            urgency=urgency,
            timeout_s=self.settings.delivery_timeout_s,
        )

    @staticmethod
    def _event(d: NotificationDelivery) -> dict[str, Any]:
        return {
            **d.payload,
            "delivery_id": d.id,
            "purpose": d.purpose,
            "subject": d.subject,
            "text": d.body,
        }
