"""Which sockets each user holds, in Redis, so a revocation can close them on any instance."""

from __future__ import annotations

import socketio
from redis.asyncio import Redis

_KEY = "sst:sockets:user:"
# A backend that dies keeps no socket open; its stale entries go away with this expiry.
_KEEP_S = 2 * 86_400


async def track(redis: Redis, *, user_id: int, sid: str, session_id: str | None) -> None:
    """Remember that this socket belongs to the user (and to which login session)."""
    key = _KEY + str(user_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, sid, session_id or "")
        pipe.expire(key, _KEEP_S)
        await pipe.execute()


async def untrack(redis: Redis, *, user_id: int, sid: str) -> None:
    """Forget a socket that disconnected."""
    await redis.hdel(_KEY + str(user_id), sid)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def disconnect_user(
    sio: socketio.AsyncServer, redis: Redis, *, user_id: int, session_id: str | None = None
) -> int:
    """Close the user's sockets (of one login session, or all); how many were asked to close."""
    held = await redis.hgetall(_KEY + str(user_id))
    closing = [_text(sid) for sid, session in held.items() if session_id in (None, _text(session))]
    for sid in closing:
        # Through the Redis manager this reaches the instance that holds the socket.
        await sio.disconnect(sid)
    return len(closing)
