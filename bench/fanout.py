"""`make bench-fanout`: one backend process sending each event to 1,000 dashboards.

The cost that bounds `make bench-latency` with many dashboards is the fan-out: one event,
one room, every socket in it. This bench isolates it and compares python-socketio's stock
manager with SST's (`sst_backend.realtime.managers.DirectFanOut`, alone and with
`sst_backend.realtime.eio_poll`, as the backend runs) in the same run:

1. For each variant in turn (`--rounds` times each, the order reversed every other round),
   a server process: a python-socketio ASGI app with that variant under uvicorn, as the
   backend runs it (uvloop, httptools, the same WebSocket implementation). Every socket
   that connects joins one room. A POST to /fire makes it emit `--events` events to that
   room, `--interval-ms` apart, each stamped with its emit time.
2. `--clients` raw Engine.IO WebSocket clients (bench/latency_clients.py, the latency
   bench's clients) in `--client-procs` processes read the events and stamp their arrival.
3. Figures per run: the server's CPU time (from /proc, user + system) per event and per
   (event, socket); the latency of each (event, socket) pair (p50, p99, max), from emit to
   read; and whether every client got every event.

Prints one JSON line at the end and writes it to bench/results/fanout.json. The ratio of
the variants' CPU per (event, socket) in the same run is the figure to read: the
machine is shared and its absolute speed moves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests.ports
    sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fanout.json"
# Each variant: (manager, the server accepts permessage-deflate, what the clients offer).
# stock: python-socketio and python-engineio as they come; direct: SST's manager alone;
# sst: the manager and sst_backend.realtime.eio_poll; the clients of these three do not
# offer compression. browser-deflate: sst with clients offering permessage-deflate as
# browsers do and the server taking it (uvicorn's default); browser-plain: the same
# clients, the server declining it (SST_WS_COMPRESSION=false, the backend's default).
VARIANTS: dict[str, tuple[str, bool, int]] = {
    "stock": ("stock", True, 0),
    "direct": ("direct", True, 0),
    "sst": ("sst", True, 0),
    "browser-deflate": ("sst", True, 15),
    "browser-plain": ("sst", False, 15),
}
MANAGERS = ("stock", "direct", "sst")  # the default variants
TICKS = os.sysconf("SC_CLK_TCK")


# -- the server process -------------------------------------------------------------------


def serve(variant: str, port: int) -> None:
    """Run the Socket.IO server of the chosen variant until killed."""
    import socketio
    import uvicorn

    from sst_backend.realtime import eio_poll
    from sst_backend.realtime.managers import DirectFanOut

    manager_name, deflate, _ = VARIANTS[variant]
    manager = socketio.AsyncManager() if manager_name == "stock" else DirectFanOut()
    if manager_name == "sst" and not eio_poll.install():
        raise SystemExit("eio_poll is not written for this python-engineio")
    sio = socketio.AsyncServer(
        async_mode="asgi", client_manager=manager, logger=False, engineio_logger=False
    )

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        await sio.enter_room(sid, "watched")

    async def fire(scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = dict(
            part.split("=", 1) for part in scope["query_string"].decode().split("&") if part
        )
        count, interval = int(query["events"]), float(query["interval_ms"]) / 1000
        sent: list[list[float]] = []
        for n in range(count):
            at = time.time()
            await sio.emit(
                "alert",
                {"kind": "fall", "resident_id": 1, "id": n, "event_id": n, "sent_at": at},
                room="watched",
            )
            sent.append([n, at])
            await asyncio.sleep(interval)
        body = orjson.dumps({"sent": sent})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app = socketio.ASGIApp(sio, other_asgi_app=fire)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        ws_per_message_deflate=deflate,
    )


# -- the coordinator ----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kibibytes(pid: int) -> int:
    """The resident set of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_listening(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"the fan-out server did not listen on {port} within {within} s")


async def one_run(args: argparse.Namespace, manager: str, tokens: Path) -> dict[str, Any]:
    """Start a server with `manager`, connect the clients, fire, and measure."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", manager, "--port", str(port), cwd=ROOT
    )
    clients: list[asyncio.subprocess.Process] = []
    try:
        await wait_listening(port)
        per_proc = -(-args.clients // args.client_procs)
        for first in range(0, args.clients, per_proc):
            clients.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(ROOT / "bench" / "latency_clients.py"),
                    "--port",
                    str(port),
                    "--tokens",
                    str(tokens),
                    "--first",
                    str(first),
                    "--count",
                    str(min(per_proc, args.clients - first)),
                    "--compress",
                    str(VARIANTS[manager][2]),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=2**30,  # one JSON line with every receipt
                    cwd=ROOT,
                )
            )
        connected = 0
        for proc in clients:
            assert proc.stdout is not None
            line = (await proc.stdout.readline()).decode()
            ready, ok, failed = line.split()
            if ready != "ready" or int(failed):
                raise RuntimeError(f"clients not all connected: {line.strip()}")
            connected += int(ok)
        await asyncio.sleep(args.settle_s)  # the connects' own work is done
        profiler = None
        if args.profile and manager == args.variants[-1]:
            profiler = await asyncio.create_subprocess_exec(
                *["py-spy", "record", "-p", str(server.pid), "-o", args.profile, "-r", "250"],
                *(["--format", "raw"] if args.profile.endswith(".txt") else []),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)
        cpu_before = cpu_seconds(server.pid)
        async with aiohttp.ClientSession() as session:
            url = (
                f"http://127.0.0.1:{port}/fire?events={args.events}&interval_ms={args.interval_ms}"
            )
            async with session.post(url, timeout=aiohttp.ClientTimeout(total=600)) as reply:
                sent = {n: at for n, at in (await reply.json(content_type=None))["sent"]}
        await asyncio.sleep(args.settle_s)  # the last event's writes, then quiet
        cpu = cpu_seconds(server.pid) - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            await asyncio.wait_for(profiler.wait(), 30)
        latencies: list[float] = []
        first_event: list[float] = []  # the first event after the connections
        for proc in clients:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(b"\n")
            await proc.stdin.drain()
            result = orjson.loads(await proc.stdout.readline())
            for _, alert_id, _, t, _ in result["receipts"]:
                latencies.append((t - sent[alert_id]) * 1000)
                if alert_id == 0:
                    first_event.append(latencies[-1])
        rss_kib = rss_kibibytes(server.pid)
        pairs = args.events * connected
        return {
            "variant": manager,
            "clients": connected,
            "events": args.events,
            "pairs_expected": pairs,
            "pairs_received": len(latencies),
            "server_cpu_s": round(cpu, 3),
            "cpu_ms_per_event": round(cpu / args.events * 1000, 2),
            "cpu_us_per_event_socket": round(cpu / pairs * 1e6, 1),
            "latency_ms": {
                "p50": round(statistics.median(latencies), 1),
                "p99": round(percentile(latencies, 0.99), 1),
                "max": round(max(latencies), 1),
            },
            "first_event_ms": {
                "p50": round(statistics.median(first_event), 1) if first_event else None,
                "max": round(max(first_event), 1) if first_event else None,
            },
            "server_rss_mib": round(rss_kib / 1024, 1),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        for proc in [*clients, server]:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


def summarise(runs: list[dict[str, Any]], variants: list[str]) -> dict[str, Any]:
    by_variant = {v: [r for r in runs if r["variant"] == v] for v in variants}
    summary: dict[str, Any] = {}
    for variant, own in by_variant.items():
        summary[variant] = {
            "cpu_us_per_event_socket_median": statistics.median(
                r["cpu_us_per_event_socket"] for r in own
            ),
            "latency_p50_ms_median": statistics.median(r["latency_ms"]["p50"] for r in own),
            "latency_p99_ms_median": statistics.median(r["latency_ms"]["p99"] for r in own),
            "server_rss_mib_median": statistics.median(r["server_rss_mib"] for r in own),
            "all_delivered": all(r["pairs_received"] == r["pairs_expected"] for r in own),
        }
    base = summary[variants[0]]["cpu_us_per_event_socket_median"]
    for variant in variants[1:]:
        own = summary[variant]["cpu_us_per_event_socket_median"]
        summary[f"{variant}_over_{variants[0]}_cpu"] = round(own / base, 3) if base else None
    return summary


async def coordinate(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens.json"
        tokens.write_bytes(orjson.dumps([f"bench-{n}" for n in range(args.clients)]))
        runs = []
        for round_no in range(args.rounds):
            order = args.variants if round_no % 2 == 0 else args.variants[::-1]
            for manager in order:
                run = await one_run(args, manager, tokens)
                print(json.dumps(run), file=sys.stderr)
                runs.append(run)
    return {
        "bench": "fanout",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "clients": args.clients,
        "events": args.events,
        "interval_ms": args.interval_ms,
        "runs": runs,
        "variants": args.variants,
        "summary": summarise(runs, args.variants),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval-ms", type=float, default=200.0)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant")
    parser.add_argument(
        "--variants",
        type=lambda text: text.split(","),
        default=list(MANAGERS),
        help=f"comma-separated, the first is the baseline of the ratios: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--settle-s", type=float, default=2.0)
    parser.add_argument("--profile", help="py-spy the sst server (.txt raw, else SVG)")
    parser.add_argument("--serve", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    result = asyncio.run(coordinate(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
