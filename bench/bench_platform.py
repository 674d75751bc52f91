"""What the process benches (bench/latency.py, bench/resend.py) start their platform on: a
work folder, a Redis database of their own (flushed), a database of their own (made anew
with the tests' bootstrap and migrations), the JWT secret their backends sign with, and the
settings every SST process of the run is given."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest import create_database, drop_database
from redis.asyncio import Redis


@dataclass
class BenchPlatform:
    """One bench run's folder, Redis database, database and secret."""

    workdir: Path
    db: str
    url: str  # the database's, SQLAlchemy's asyncpg URL
    redis_url: str
    redis: Redis
    secret: str

    @property
    def dsn(self) -> str:
        """The database's plain PostgreSQL URL (for asyncpg)."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def env(self, broker_port: int) -> dict[str, str]:
        """The settings every SST process of the run is started with (an anonymous broker)."""
        return {
            "SST_DATABASE_URL": self.url,
            "SST_REDIS_URL": self.redis_url,
            "SST_MQTT_HOST": "127.0.0.1",
            "SST_MQTT_PORT": str(broker_port),
            "SST_MQTT_USERNAME": "",
            "SST_MQTT_PASSWORD": "",
            "SST_MQTT_ADMIN_PASSWORD": "",
            "SST_METRICS_PORT": "0",
            "SST_JWT_SECRET": self.secret,
        }

    async def close(self, *, keep_db: bool, keep_workdir: bool = False) -> None:
        """Flush and let go of Redis; drop the database and remove the folder unless kept."""
        await self.redis.flushdb()
        await self.redis.aclose()
        if not keep_db:
            await drop_database(self.db)
        if not keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def prepare_platform(name: str, *, db: str, redis_db: int) -> BenchPlatform:
    """A fresh run of the bench `name`: its folder, Redis database `redis_db` flushed, the
    database `db` made anew, a new secret."""
    workdir = Path(tempfile.mkdtemp(prefix=f"sst-bench-{name}-"))
    redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    url = await create_database(db)
    secret = "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
    return BenchPlatform(workdir, db, url, redis_url, redis, secret)
