"""Web Push with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), by pywebpush."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from sst_backend.notifications.errors import DeliveryError


def load_vapid(private_key: str) -> Vapid:
    """A VAPID signer from a base64url raw/DER key or a PEM block."""
    if private_key.lstrip().startswith("-----BEGIN"):
        return Vapid.from_pem(private_key.encode())
    return Vapid.from_string(private_key)


async def send_push(
    http: aiohttp.ClientSession,
    *,
    vapid: Vapid,
    subject: str,
    subscription: dict[str, Any],
    payload: dict[str, Any],
    urgency: str,
    timeout_s: float,
) -> None:
    """Encrypt the payload for the browser and hand it to its push service."""
    try:
        await webpush_async(
            subscription_info=subscription,
            data=orjson.dumps(payload).decode(),
            vapid_private_key=vapid,
            vapid_claims={"sub": subject},
            ttl=3600,
            headers={"Urgency": urgency},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            aiohttp_session=http,
        )
    except WebPushException as exc:
        status = exc.status_code
        # 404/410: the browser dropped the subscription; it will never work again.
        raise DeliveryError(f"push refused: {status}", permanent=status in (404, 410)) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(f"push service unreachable: {type(exc).__name__}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise DeliveryError(f"bad push subscription: {exc}", permanent=True) from exc
