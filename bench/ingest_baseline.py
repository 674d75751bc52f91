"""Raw baseline for the ingest benchmark: a bare paho subscriber COPYing straight into `readings`.

No validation, no staging table, no Redis stream, no dead letters: orjson, a dict lookup
for the sensor id, asyncpg COPY, then the MQTT acknowledgements (QoS 1, manual acks after
commit, like the gateway, so both pay the same protocol cost). It is the ceiling of this
machine for "MQTT in, rows in PostgreSQL" in one Python process, to compare the gateway with.

Run by bench/ingest.py; prints "ready" once subscribed, runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

_SENSORS = """
SELECT h.serial, s.key, s.id, (SELECT min(r.id) FROM residents r WHERE r.home_id = h.home_id)
FROM hubs h JOIN sensors s ON s.hub_id = h.id WHERE h.serial LIKE 'bench-%'
"""


async def run(args: argparse.Namespace) -> None:
    """Subscribe, then COPY whatever arrived every few milliseconds until stopped."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    conn = await asyncpg.connect(args.dsn)
    sensors = {(serial, key): (sid, rid) for serial, key, sid, rid in await conn.fetch(_SENSORS)}
    inbox: collections.deque[tuple[str, bytes | bytearray, int]] = collections.deque()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        inbox.append((message.topic, message.payload, message.mid))

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=args.client_id,
        clean_session=True,
        protocol=MQTTProtocolVersion.MQTTv311,
        manual_ack=True,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_connect = lambda c, *a: c.subscribe(args.topic, qos=1)
    client.connect("127.0.0.1", args.port, 60)
    client.loop_start()
    await asyncio.to_thread(subscribed.wait, 10)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    utc = UTC
    while not stop.is_set():
        if not inbox:
            await asyncio.sleep(0.002)
            continue
        records: list[tuple[datetime, int, int | None, float]] = []
        mids: list[int] = []
        while inbox and len(records) < args.batch:
            topic, payload, mid = inbox.popleft()
            serial = topic.split("/")[3]
            for reading in orjson.loads(payload)["readings"]:
                sensor_id, resident_id = sensors[(serial, reading["sensor"])]
                moment = datetime.fromtimestamp(reading["ts"] / 1000, tz=utc)
                records.append((moment, sensor_id, resident_id, reading["value"]))
            mids.append(mid)
        await conn.copy_records_to_table(
            "readings", records=records, columns=("time", "sensor_id", "resident_id", "value")
        )
        for mid in mids:
            client.ack(mid, 1)
    client.disconnect()
    client.loop_stop()
    await conn.close()


def main() -> None:
    """Parse arguments and run until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--batch", type=int, default=20_000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
