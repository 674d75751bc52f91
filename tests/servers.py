"""Servers the tests start: a backend served in the test's event loop (on a free port)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from sst_backend.app import create_app
from sst_backend.settings import BackendSettings
from tests.ports import free_port


@asynccontextmanager
async def serving(settings: BackendSettings, *, stop_within_s: float) -> AsyncIterator[str]:
    """The backend app of `settings` served by uvicorn in this event loop, on a free port,
    until the block ends (then stopped within `stop_within_s`); its base URL."""
    port = free_port()
    # No heap keeper here: it freezes the whole process's heap, and in the test process that
    # hid every test's cyclic garbage (a socket left open included) from pytest's check
    # after each test until the keeper let go at the end of the session, where the leak
    # could no longer be told from which test it came.
    settings = settings.model_copy(update={"gc_deep_every_s": 0})
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "backend did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=stop_within_s)
