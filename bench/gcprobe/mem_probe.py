"""A memory probe for the benchmarks' processes (not imported by SST itself).

Loaded by this folder's sitecustomize.py when SST_MEM_PROBE_FOR names a program (e.g.
`sst-backend`): that program traces its Python allocations (tracemalloc, a few frames) and
every SST_MEM_PROBE_EVERY_S seconds (default 20) appends to
$SST_MEM_PROBE_DIR/mem-<program>-<pid>.txt (default /tmp): the wall-clock time, its
resident memory, what tracemalloc holds, and the allocation sites that grew most since the
previous look. A step in resident memory with no step in the traced total is outside
Python's allocator (C libraries, the allocator's own arenas):

    SST_MEM_PROBE_FOR=sst-backend PYTHONPATH=$PWD/bench/gcprobe make bench-soak

(an absolute path: the services run in a working folder of their own). Tracing slows the
program down; read its latencies as those of a traced run. The collector's probe
(sitecustomize.py) records beside it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc

_NAME = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
_DIR = os.environ.get("SST_MEM_PROBE_DIR", "/tmp")
_EVERY_S = float(os.environ.get("SST_MEM_PROBE_EVERY_S", "20"))
_TOP = 12


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _watch() -> None:
    path = os.path.join(_DIR, f"mem-{_NAME}-{os.getpid()}.txt")
    started = time.monotonic()
    before = tracemalloc.take_snapshot()
    while True:
        time.sleep(_EVERY_S)
        now = tracemalloc.take_snapshot()
        traced, peak = tracemalloc.get_traced_memory()
        growth = now.compare_to(before, "traceback")
        with open(path, "a") as out:
            out.write(
                f"== {time.time():.3f} t={time.monotonic() - started:.0f}s "
                f"rss={_rss_mib():.1f} MiB traced={traced / 2**20:.1f} MiB "
                f"peak={peak / 2**20:.1f} MiB\n"
            )
            for stat in growth[:_TOP]:
                if stat.size_diff <= 0:
                    break
                where = " <- ".join(
                    f"{frame.filename.rsplit('site-packages/', 1)[-1]}:{frame.lineno}"
                    for frame in stat.traceback
                )
                out.write(f"  +{stat.size_diff / 1024:.0f} KiB ({stat.count_diff:+d}) {where}\n")
        before = now


def start() -> None:
    """Trace this process's allocations and look at them on a thread of its own."""
    tracemalloc.start(int(os.environ.get("SST_MEM_PROBE_FRAMES", "4")))
    threading.Thread(target=_watch, name="mem-probe", daemon=True).start()
