"""The PostgreSQL failures the gateway waits out and retries, rather than stopping for."""

from __future__ import annotations

import asyncpg

# PostgreSQL away, or a connection it left broken: wait and try again. asyncpg raises
# InternalClientError ("cannot switch to state ...; another operation is in progress") when
# the server went away in the middle of an operation on a pooled connection; it is not an
# InterfaceError, and uncaught it stopped the gateway (fault run, PostgreSQL stopped 30 s).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
