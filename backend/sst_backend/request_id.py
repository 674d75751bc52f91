"""A request id on every request: taken from X-Request-ID or made, returned, and logged."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sst_core.log_context import request_id_var

HEADER = "X-Request-ID"
# An id from outside is kept only if it is short and plain: it ends up in every log line.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _ACCEPTED.fullmatch(text) else None
    return None


class RequestIdMiddleware:
    """Sets the request id for the request's context and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id set in the logging context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
