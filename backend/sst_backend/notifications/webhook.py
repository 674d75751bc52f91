"""HMAC-SHA256-signed webhooks (SMS gateways and the like).

The receiver recomputes `hex(HMAC-SHA256(secret, f"{timestamp}.{body}"))` and compares it
with X-SST-Signature (after "v1="), and refuses timestamps older than a few minutes so a
captured request cannot be replayed later. X-SST-Delivery lets it drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import orjson

from sst_backend.notifications.errors import DeliveryError

SIGNATURE_HEADER = "X-SST-Signature"
TIMESTAMP_HEADER = "X-SST-Timestamp"
DELIVERY_HEADER = "X-SST-Delivery"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value of a body sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


async def post_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    payload: dict[str, Any],
    delivery_id: int,
    timeout_s: float,
) -> None:
    """POST the signed payload; any non-2xx answer is a failure (4xx other than 408/429: final)."""
    body = orjson.dumps(payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: str(delivery_id),
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"webhook timed out after {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
    if response.is_success:
        return
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
    raise DeliveryError(f"webhook answered {response.status_code}", permanent=permanent)
