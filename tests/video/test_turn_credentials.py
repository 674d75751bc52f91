"""coturn itself accepts the backend's ephemeral credentials and refuses wrong or expired ones
(a TURN Allocate, as a browser or aiortc makes it, through aioice's TURN client)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from sst_backend.video.turn import turn_password, turn_username
from tests.conftest import TURN_PORT, TURN_SECRET


async def _allocate(username: str, password: str) -> tuple[str, int]:
    """Allocate a relay on the checkout's coturn; its relayed address."""
    transport, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol, ("127.0.0.1", TURN_PORT), username, password, lifetime=60
    )
    try:
        relayed = transport.get_extra_info("sockname")
        assert relayed is not None
        return str(relayed[0]), int(relayed[1])
    finally:
        transport.close()


async def _refused(username: str, password: str) -> int:
    """The error code coturn answers an Allocate with (fails if it allocates)."""
    with pytest.raises(stun.TransactionFailed) as failed:
        await _allocate(username, password)
    code = failed.value.response.error_code
    assert code is not None
    return int(code)


async def test_a_fresh_credential_gets_a_relay(turn_server: Path) -> None:
    username = turn_username(uuid.uuid4().hex, expires_at_s=int(time.time()) + 120)
    host, port = await _allocate(username, turn_password(TURN_SECRET, username))
    assert host == "127.0.0.1" and port > 0


async def test_a_wrong_or_expired_credential_is_refused(turn_server: Path) -> None:
    session = uuid.uuid4().hex
    fresh = turn_username(session, expires_at_s=int(time.time()) + 120)
    expired = turn_username(session, expires_at_s=int(time.time()) - 5)
    # Signed with another secret (a forged or stale credential).
    assert await _refused(fresh, turn_password("not-the-secret-" + TURN_SECRET, fresh)) == 401
    # A right signature over another user name: the name cannot be changed after signing.
    other = turn_username(uuid.uuid4().hex, expires_at_s=int(time.time()) + 120)
    assert await _refused(other, turn_password(TURN_SECRET, fresh)) == 401
    # Correctly signed but past its expiry.
    assert await _refused(expired, turn_password(TURN_SECRET, expired)) == 401
    # No credential at all: nothing anonymous gets a relay.
    assert await _refused("", "") == 401
