"""Refuses request bodies over a size limit with 413, before they fill the server's memory."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bodies up to this size are read and dropped before the 413, so ordinary clients (which
# send the whole body before reading the answer) get the error instead of a reset.
_DRAIN_CAP = 64 * 1024 * 1024


def _body(limit: int) -> bytes:
    message = f"The request body is larger than {limit} bytes; send less at once."
    return json.dumps({"error": {"code": "payload_too_large", "message": message}}).encode()


class BodyLimitMiddleware:
    """Answers 413 in the JSON error shape when a body exceeds `max_bytes` (declared or sent)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count what actually arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._drain(receive, int(declared))
            await self._refuse(send)
            return
        if declared is not None:
            # The server (h11/httptools) stops a body at its declared length.
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read up to the limit here, then replay it, because
        # an error raised while the framework reads the body would become its own 4xx.
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, _DRAIN_CAP)
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, declared: int) -> None:
        """Read and drop what the client is still sending (bounded), so it hears our 413."""
        if declared > _DRAIN_CAP:
            return  # not worth reading: the client will see the connection close
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    async def _refuse(self, send: Send) -> None:
        body = _body(self.max_bytes)
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
