"""`sst-ai-inference`: run the inference service until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from redis.asyncio import Redis

from sst_ai_inference.service import InferenceService
from sst_ai_inference.settings import InferenceSettings
from sst_core.db.session import make_engine
from sst_core.logs import install_stack_dumps, setup_logging


async def serve(settings: InferenceSettings, stop: asyncio.Event | None = None) -> None:
    """Run one inference consumer with its own engine and Redis client until `stop`."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    install_stack_dumps(loop)
    engine = make_engine(settings.database_url, pool_size=5)
    redis = Redis.from_url(settings.redis_url)
    try:
        await InferenceService(settings=settings, engine=engine, redis=redis).run(stop)
    finally:
        await redis.aclose()
        await engine.dispose()


def main() -> None:
    """Entry point of `sst-ai-inference`."""
    settings = InferenceSettings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
