"""Login attempts limited per account and per client address, in fixed Redis windows.

An attempt counts when it starts (so a burst of parallel guesses cannot slip past the
limit); a successful one is taken back: the account's counter is cleared, the address's
is only decremented, so logging in to one's own account never wipes out the failures
that address piled up against other accounts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

from sst_backend.errors import APIError
from sst_backend.metrics import LOGIN_REFUSALS
from sst_backend.settings import BackendSettings

_ACCOUNT_KEY = "sst:auth:login:account:"
_ADDRESS_KEY = "sst:auth:login:address:"


@dataclass(frozen=True)
class LoginAttempt:
    """The counters one login attempt was charged to."""

    account_key: str
    address_key: str


def _account_key(email: str) -> str:
    # Hashed: Redis need not hold e-mail addresses, even of accounts that do not exist.
    return _ACCOUNT_KEY + hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def _charge(redis: Redis, key: str, window_s: int) -> tuple[int, int]:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_s, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
    return int(count), int(ttl)


async def start_attempt(
    redis: Redis, settings: BackendSettings, *, email: str, address: str
) -> LoginAttempt:
    """Charge an attempt to the account and the address; 429 with Retry-After past a limit."""
    attempt = LoginAttempt(_account_key(email), _ADDRESS_KEY + address)
    window = settings.login_window_s
    account_count, account_ttl = await _charge(redis, attempt.account_key, window)
    address_count, address_ttl = await _charge(redis, attempt.address_key, window)
    waits = []
    if account_count > settings.login_max_failures_per_account:
        waits.append(account_ttl)
        LOGIN_REFUSALS.labels(limit="account").inc()
    if address_count > settings.login_max_failures_per_address:
        waits.append(address_ttl)
        LOGIN_REFUSALS.labels(limit="address").inc()
    if waits:
        retry_after = max(1, *waits)
        raise APIError(
            429,
            "too_many_attempts",
            f"Too many failed sign-in attempts; try again in {retry_after} seconds.",
            details={"retry_after_s": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
    return attempt


# DECR on a key whose window just ended would make a key without expiry: only if it exists.
_UNCOUNT = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.call('DECR', KEYS[2]) end
return 0
"""


async def attempt_succeeded(redis: Redis, attempt: LoginAttempt) -> None:
    """Take a successful attempt back: clear the account, un-count it for the address."""
    await redis.eval(_UNCOUNT, 2, attempt.account_key, attempt.address_key)
