"""Ephemeral TURN credentials in coturn's shared-secret scheme (TURN REST API, use-auth-secret).

The user name is "<expiry epoch s>:<session id>" and the password base64(HMAC-SHA1(secret,
user name)); coturn recomputes the password from its static-auth-secret and refuses a name
whose expiry has passed. Nothing is stored: a credential dies with its expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sst_backend.settings import BackendSettings
from sst_core.video_messages import IceServer


def turn_password(secret: str, username: str) -> str:
    """The password coturn expects for `username` (base64 of HMAC-SHA1 with the secret)."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def turn_username(session_id: str, *, expires_at_s: int) -> str:
    """The REST-scheme user name of a session: expiry first, as coturn reads it."""
    return f"{expires_at_s}:{session_id}"


def turn_urls(settings: BackendSettings) -> list[str]:
    """The TURN URLs handed out (default: the local coturn over UDP)."""
    return settings.turn_urls or [f"turn:127.0.0.1:{settings.turn_port}?transport=udp"]


def ice_servers(
    settings: BackendSettings, *, session_id: str, expires_at_s: int
) -> list[IceServer]:
    """The ICE servers of one session, with its ephemeral credential."""
    assert settings.turn_secret is not None  # checked by the caller (503 when unset)
    username = turn_username(session_id, expires_at_s=expires_at_s)
    password = turn_password(settings.turn_secret.get_secret_value(), username)
    return [IceServer(urls=turn_urls(settings), username=username, credential=password)]
