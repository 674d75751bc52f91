"""Benchmark Socket.IO clients: many dashboard connections in one process, raw Engine.IO v4.

Each connection is a WebSocket speaking the Socket.IO protocol directly (open, CONNECT with
the token, answer pings, read events): python-socketio's client costs several times more
CPU per connection, which on a 2-core machine would be taken from the platform measured.
A client records when each `alert` event arrives (time.time(), the same clock the
coordinator stamps the fall with).

With several `--port`s (one per backend process), the connections are dealt to them in
turn by their global index (`--first` + k), so all the client processes together spread
the dashboards evenly over the backends.

Run by bench/latency.py: prints "ready <connected> <failed>" once every client is connected
(or gave up), then, when a line arrives on stdin, one JSON line: {"receipts": [[resident_id,
alert_id, event_id, t, backend], ...], "connected": n, "connected_by_backend": [n, ...],
"failed": n, "other_events": n}, `backend` being the index of the client's `--port`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson


class Stats:
    """What all the clients of this process saw."""

    def __init__(self, backends: int) -> None:
        self.receipts: list[list[Any]] = []
        self.connected = 0
        self.connected_by_backend = [0] * backends
        self.failed = 0
        self.disconnected = 0
        self.other_events = 0


async def client(
    session: aiohttp.ClientSession,
    url: str,
    backend: int,
    token: str,
    stats: Stats,
    gate: asyncio.Semaphore,
    compress: int,
) -> None:
    """One dashboard connection until cancelled."""
    async with gate:
        try:
            ws = await session.ws_connect(url, heartbeat=None, max_msg_size=0, compress=compress)
            opened = await ws.receive(timeout=30)
            if not str(opened.data).startswith("0"):
                raise ConnectionError(f"no Engine.IO open packet: {opened.data!r}")
            await ws.send_str("40" + orjson.dumps({"token": token}).decode())
            while True:
                reply = await ws.receive(timeout=30)
                text = str(reply.data)
                if text == "2":
                    await ws.send_str("3")
                    continue
                if text.startswith("40"):
                    break
                if text.startswith("42"):  # room events may come before the CONNECT ack
                    stats.other_events += 1
                    continue
                raise ConnectionError(f"refused: {text[:200]}")
        except (aiohttp.ClientError, ConnectionError, TimeoutError, OSError) as exc:
            stats.failed += 1
            print(f"client failed: {exc!r}", file=sys.stderr)
            return
        stats.connected += 1
        stats.connected_by_backend[backend] += 1
    try:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            text = message.data
            if text == "2":
                await ws.send_str("3")
            elif text.startswith('42["alert"'):
                now = time.time()
                _, data = orjson.loads(text[2:])
                if data.get("kind") == "fall":  # not e.g. a watched hub's presence alert
                    receipt = [data["resident_id"], data["id"], data.get("event_id"), now, backend]
                    stats.receipts.append(receipt)
                else:
                    stats.other_events += 1
            elif text.startswith("42"):
                stats.other_events += 1
    finally:
        stats.disconnected += 1
        await ws.close()


async def run(args: argparse.Namespace, tokens: list[str]) -> None:
    urls = [f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket" for port in args.port]
    stats = Stats(len(urls))
    gate = asyncio.Semaphore(args.parallel_connects)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        for k, token in enumerate(tokens):
            backend = (args.first + k) % len(urls)
            tasks.append(
                asyncio.create_task(
                    client(session, urls[backend], backend, token, stats, gate, args.compress)
                )
            )
        while stats.connected + stats.failed < len(tokens):  # noqa: ASYNC110 (a tally)
            await asyncio.sleep(0.05)
        sys.stdout.write(f"ready {stats.connected} {stats.failed}\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result = {
        "receipts": stats.receipts,
        "connected": stats.connected,
        "connected_by_backend": stats.connected_by_backend,
        "failed": stats.failed,
        "other_events": stats.other_events,
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


def main() -> None:
    """Parse arguments and run the clients."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        action="append",
        required=True,
        help="a backend's port; repeat it for several backends (connections dealt in turn)",
    )
    parser.add_argument("--tokens", required=True, help="JSON file: a list of access tokens")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--parallel-connects", type=int, default=50)
    parser.add_argument(
        "--compress",
        type=int,
        default=0,
        help="offer permessage-deflate with this window (15 as browsers do; 0: do not offer)",
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is in the lock file
        pass
    tokens = orjson.loads(Path(args.tokens).read_bytes())[args.first : args.first + args.count]
    asyncio.run(run(args, tokens))


if __name__ == "__main__":
    main()
