"""A garbage-collector probe for the benchmarks' processes (not imported by SST itself).

With this folder on PYTHONPATH, every Python process started (the bench passes its
environment on) appends each full collection, and any collection over 10 ms, to
$SST_GC_PROBE_DIR/gc-<program>-<pid>.txt (default /tmp): wall-clock time, generation,
pause, objects collected. Comparing those times with bench/latency.py's per-fall stages
(`falls`) shows whether a slow fall met a collection:

    PYTHONPATH=$PWD/bench/gcprobe uv run python bench/latency.py --rate 0

(an absolute path: the services run in a working folder of their own).
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

_DIR = os.environ.get("SST_GC_PROBE_DIR", "/tmp")
_NAME = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
_started: dict[int, float] = {}


def _record(phase: str, info: dict[str, Any]) -> None:
    generation = info["generation"]
    if phase == "start":
        _started[generation] = time.perf_counter()
        return
    pause = time.perf_counter() - _started.get(generation, time.perf_counter())
    if pause > 0.01 or generation == 2:
        path = os.path.join(_DIR, f"gc-{_NAME}-{os.getpid()}.txt")
        with open(path, "a") as out:
            out.write(
                f"{time.time():.3f} gen{generation} {pause * 1000:.1f} ms"
                f" collected={info.get('collected')}\n"
            )


gc.callbacks.append(_record)

# The memory probe (mem_probe.py, this folder) in the program SST_MEM_PROBE_FOR names.
if os.environ.get("SST_MEM_PROBE_FOR") == _NAME:
    import mem_probe

    mem_probe.start()
