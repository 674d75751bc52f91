"""Benchmark publisher: many hubs' telemetry over one raw MQTT 3.1.1 connection, QoS 1.

Payloads come from the reference hub's builders (`sst_devices.hub_agent.telemetry_payload`),
encoded once per hub as a template whose timestamp is swapped in at send time (the
publish time is the reading's `ts`, so the delay to commit can be read back from the
database). The transport is a minimal MQTT writer rather than paho: paho costs ~20 us of
Python per publish, which on a 2-core machine would take the CPU the gateway is measured
with. It keeps a window of unacknowledged messages (PUBACKs counted, not matched: the
broker acknowledges every QoS 1 publish of a healthy session exactly once).

Run by bench/ingest.py: prints "ready", publishes when a line arrives on stdin, then prints
one JSON line: {"sent", "acked", "started", "finished", "cpu"}.
"""

from __future__ import annotations

import argparse
import resource
import select
import socket
import struct
import sys
import time

import orjson

from sst_core.const import TELEMETRY, hub_topic
from sst_devices.hub_agent import telemetry_payload

TS_MARK = 1_999_999_999_999  # a placeholder timestamp with a unique 13-digit spelling
_TS_MARK_BYTES = str(TS_MARK).encode()


def hub_serial(index: int) -> str:
    """Serial of the bench hub number `index`."""
    return f"bench-h{index:05d}"


def sensor_key(index: int) -> str:
    """Key of sensor number `index` on a bench hub."""
    return f"s{index:02d}"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session, keep-alive off."""
    body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0) + _string(client_id)
    return b"\x10" + _varint(len(body)) + body


class Templates:
    """Pre-encoded PUBLISH pieces per (hub, sensor slot): header parts and payload template."""

    def __init__(self, hubs: list[int], sensors: int, per_message: int) -> None:
        self.per_message = per_message
        self.sensors = sensors
        # slot -> (topic block, payload template); a slot is a hub (batched) or hub+sensor.
        self.slots: list[tuple[bytes, bytes]] = []
        for hub in hubs:
            topic = _string(hub_topic(hub_serial(hub), TELEMETRY))
            if per_message == sensors:
                readings = [(sensor_key(s), TS_MARK, 20.0 + s / 10) for s in range(sensors)]
                self.slots.append((topic, telemetry_payload(readings)))
            else:
                for s in range(sensors):
                    payload = telemetry_payload([(sensor_key(s), TS_MARK, 1.0)])
                    self.slots.append((topic, payload))

    def packet(self, slot: int, packet_id: int, ts_ms: int) -> bytes:
        """A complete PUBLISH (QoS 1) for this slot with the timestamp filled in."""
        topic, template = self.slots[slot]
        payload = template.replace(_TS_MARK_BYTES, b"%d" % ts_ms)
        length = len(topic) + 2 + len(payload)
        return b"".join((b"\x32", _varint(length), topic, struct.pack("!H", packet_id), payload))


def publish(args: argparse.Namespace) -> dict[str, float]:
    """Send `args.messages` messages, round-robin over the slots; wait for every PUBACK."""
    hubs = list(range(args.first_hub, args.first_hub + args.hubs))
    templates = Templates(hubs, args.sensors, args.per_message)
    slots = len(templates.slots)
    # In single mode slot order is hub-major: step through hubs first so consecutive
    # messages spread over hubs the way many homes would.
    order = (
        list(range(slots))
        if args.per_message == args.sensors
        else [h * args.sensors + s for s in range(args.sensors) for h in range(len(hubs))]
    )
    last_ts = [0] * slots
    sock = socket.create_connection(("127.0.0.1", args.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(args.client_id))
    connack = sock.recv(4)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        raise SystemExit(f"publisher: broker refused the connection: {connack!r}")
    # Imports and templates cost CPU the measured run must not share: say so, then wait.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    sent = acked = 0
    pending = 0  # bytes of a partial PUBACK
    started = time.time()
    chunk: list[bytes] = []
    chunk_bytes = 0
    packet_id = 0
    while acked < args.messages:
        allowed = args.messages - sent
        if args.rate > 0:
            allowed = min(allowed, int(args.rate * (time.time() - started)) + 1 - sent)
        allowed = min(allowed, args.window - (sent - acked))
        now_ms = time.time_ns() // 1_000_000
        for _ in range(max(0, allowed)):
            slot = order[sent % slots]
            ts = max(now_ms, last_ts[slot] + 1)  # (sensor, ts) must stay unique
            last_ts[slot] = ts
            packet_id = packet_id % 65535 + 1
            packet = templates.packet(slot, packet_id, ts)
            chunk.append(packet)
            chunk_bytes += len(packet)
            sent += 1
            if chunk_bytes >= 65536:
                sock.sendall(b"".join(chunk))
                chunk.clear()
                chunk_bytes = 0
        if chunk:
            sock.sendall(b"".join(chunk))
            chunk.clear()
            chunk_bytes = 0
        # Block for acks only when the window is full or everything is sent.
        must_wait = sent - acked >= args.window or sent == args.messages
        timeout = 0.05 if must_wait else (0.001 if args.rate > 0 else 0)
        readable, _, _ = select.select([sock], [], [], timeout)
        if readable:
            data = sock.recv(1 << 20)
            if not data:
                raise SystemExit("publisher: broker closed the connection")
            total = pending + len(data)
            acked += total // 4
            pending = total % 4
    finished = time.time()
    sock.sendall(b"\xe0\x00")
    sock.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return {"sent": sent, "acked": acked, "started": started, "finished": finished, "cpu": cpu}


def main() -> None:
    """Parse arguments, publish, print the result line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--first-hub", type=int, required=True)
    parser.add_argument("--hubs", type=int, required=True)
    parser.add_argument("--sensors", type=int, required=True)
    parser.add_argument("--per-message", type=int, required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="messages/s; 0 = as fast as possible"
    )
    parser.add_argument("--window", type=int, default=5000)
    args = parser.parse_args()
    if args.per_message not in (1, args.sensors):
        raise SystemExit("--per-message is 1 or the hub's sensor count")
    sys.stdout.write(orjson.dumps(publish(args)).decode() + "\n")


if __name__ == "__main__":
    main()
