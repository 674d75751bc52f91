"""`sst-ai-inference` as its own process: configured from the environment, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ai_inference.conftest import alerts_of, publish, reading, wait_until
from tests.ai_inference.test_service import FALL_AT
from tests.factories import HomeFixture


async def test_process_raises_alerts_and_stops_cleanly_on_sigterm(
    engine: AsyncEngine, redis: Redis, home: HomeFixture
) -> None:
    consumer = f"proc-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SST_INFERENCE_CONSUMER_NAME": consumer, "SST_LOG_LEVEL": "INFO"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sst_ai_inference", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await publish(redis, home, reading(home, "button-1", FALL_AT))
        [alert] = await wait_until(lambda: alerts_of(engine, home.resident_id), within_s=30)
        assert alert["kind"] == "emergency_button"
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert f"as {consumer}" in log  # the consumer name came from the environment
    assert "Traceback" not in log
