"""Escalation and delivery throughput: N critical alerts at once, K schedulers, a local SMTP.

Usage: uv run python -m bench.alerting [alerts] [schedulers]
(SST_DATABASE_URL must point at a migrated database; rows it makes are left in place.)
Prints one JSON line: time until every first-step delivery is sent, and the latency from
an alert's opening to each delivery being sent (p50/p95/max), plus deliveries per second.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from sst_backend.notifications.settings import AlertingSettings
from sst_backend.scheduler import Scheduler
from sst_core.db.models import (
    Alert,
    Facility,
    NotificationDelivery,
    NotificationPreference,
    Resident,
    StaffAssignment,
    User,
)
from sst_core.db.session import make_engine, make_sessionmaker


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


async def main(alerts: int, schedulers: int) -> None:
    settings = AlertingSettings(scheduler_interval_s=0.05, smtp_port=8525)
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=8525)
    smtp.start()
    engines = [make_engine(settings.database_url, pool_size=5) for _ in range(schedulers)]
    sm = make_sessionmaker(engines[0])
    tag = uuid.uuid4().hex[:8]
    async with sm() as session, session.begin():
        facility = Facility(name=f"bench {tag}")
        session.add(facility)
        await session.flush()
        staff = User(
            facility_id=facility.id,
            email=f"s-{tag}@b.test",
            full_name="S",
            role="staff",
            password_hash="x",
        )
        session.add(staff)
        await session.flush()
        session.add(NotificationPreference(user_id=staff.id, channels=["email"]))
        residents = [Resident(facility_id=facility.id, full_name=f"R{i}") for i in range(alerts)]
        session.add_all(residents)
        await session.flush()
        for r in residents:
            session.add(StaffAssignment(staff_id=staff.id, resident_id=r.id))
    loops = [
        Scheduler(settings=settings, sessionmaker=make_sessionmaker(e), emit=None) for e in engines
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in loops]
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with sm() as session, session.begin():
        session.add_all(
            Alert(
                resident_id=r.id,
                kind="fall",
                severity="low",
                state="open",
                title="Fall",
                explanation="bench",
                opened_at=now,
                last_seen_at=now,
            )
            for r in residents
        )
    ids = [r.id for r in residents]
    while True:
        async with sm() as session:
            sent = await session.scalar(
                select(func.count()).where(
                    NotificationDelivery.resident_id.in_(ids), NotificationDelivery.state == "sent"
                )
            )
        if sent == alerts:  # one e-mail per alert
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    async with sm() as session:
        rows = (
            await session.execute(
                select(NotificationDelivery.sent_at, NotificationDelivery.attempt).where(
                    NotificationDelivery.resident_id.in_(ids),
                    NotificationDelivery.channel == "email",
                )
            )
        ).all()
    lat = sorted((s - now).total_seconds() for s, _ in rows if s is not None)  # sent only
    print(
        json.dumps(
            {
                "alerts": alerts,
                "schedulers": schedulers,
                "all_sent_s": round(elapsed, 3),
                "deliveries_per_s": round(len(rows) / elapsed, 1),
                "latency_p50_s": round(lat[len(lat) // 2], 3),
                "latency_p95_s": round(lat[int(len(lat) * 0.95) - 1], 3),
                "latency_max_s": round(lat[-1], 3),
                "double_sends": sum(1 for _, a in rows if a != 1),
                "split": [s.totals.sent for s in loops],
            }
        )
    )
    for e in engines:
        await e.dispose()
    smtp.stop()


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 500,
            int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        )
    )
