"""Opaque cursors of the alert list: the (last_seen_at, id) of the last alert of a page."""

from __future__ import annotations

import base64
from datetime import datetime

from sst_backend.errors import APIError


def encode(last_seen_at: datetime, alert_id: int) -> str:
    """The cursor that continues after this alert."""
    raw = f"{last_seen_at.isoformat()}|{alert_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    """Inverse of `encode`; a cursor we did not make is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, alert_id = raw.partition("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, int(alert_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(
            422, "invalid_cursor", "This cursor is not valid; start again without one."
        ) from exc
