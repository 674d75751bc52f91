"""Bodies of the notification-preference endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Channel = Literal["in_app", "email", "webhook", "push"]
_URL = r"^https?://[^\s]+$"


class PushKeys(BaseModel):
    """The browser's keys from PushSubscription.toJSON()."""

    model_config = ConfigDict(extra="forbid")

    p256dh: str = Field(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$")
    auth: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_=-]+$")


class PushSubscription(BaseModel):
    """What the browser's PushManager.subscribe() returned."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(max_length=2000, pattern=_URL)
    keys: PushKeys


class PreferencesIn(BaseModel):
    """How you want to be told about alerts (and, for guardians, the daily summary)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channels": ["in_app", "email", "webhook"],
                    "webhook_url": "https://sms-gateway.example.org/sst",
                    "webhook_secret": "a-long-random-secret-shared-with-the-gateway",
                    "daily_summary": True,
                }
            ]
        },
    )

    channels: list[Channel] = Field(max_length=4)
    webhook_url: str | None = Field(default=None, max_length=2000, pattern=_URL)
    webhook_secret: str | None = Field(
        default=None,
        min_length=32,
        max_length=256,
        description="HMAC-SHA256 key for the webhook's X-SST-Signature; omit to keep the "
        "stored one. Never returned.",
    )
    push_subscription: PushSubscription | None = None
    daily_summary: bool = True

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel]) -> list[Channel]:
        return list(dict.fromkeys(value))


class PreferencesOut(BaseModel):
    """Your notification preferences (secrets are never shown)."""

    channels: list[Channel]
    webhook_url: str | None
    webhook_secret_set: bool
    push_endpoint: str | None
    daily_summary: bool


class VapidKeyOut(BaseModel):
    """The server's VAPID public key, for PushManager.subscribe(applicationServerKey)."""

    public_key: str | None
