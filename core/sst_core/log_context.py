"""Context that log records pick up on their own, such as the id of the request being served."""

from __future__ import annotations

from contextvars import ContextVar

# Set by a service for the duration of one unit of work (an HTTP request); asyncio copies it
# into every task the work starts, so each log line of that request carries the id.
request_id_var: ContextVar[str | None] = ContextVar("sst_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return request_id_var.get()
