"""Starting SST services as real processes for end-to-end tests, with their logs kept, and
waiting for them to be ready."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGKILL it when the test process dies, even killed outright (a timeout),
    so no service outlives its run and disturbs the next one."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Service:
    """One service process, restartable, logging to test-artifacts/e2e/<name>.log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)
    # Where this object's first start began writing in the (shared, appended) log file.
    log_from: int = field(default=0)

    def start(self) -> None:
        """Start (or start again) the process."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        # The child keeps its own copy of the descriptor; ours is closed at once.
        with (ARTIFACTS / f"{self.name}.log").open("ab") as log:
            if self.starts == 1:
                self.log_from = log.tell()
            log.write(f"\n--- start #{self.starts} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def kill(self) -> None:
        """SIGKILL: no chance to flush, acknowledge or say goodbye."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop in time; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_of_this_run(self) -> str:
        """What this object's processes logged (not earlier runs' lines in the same file)."""
        path = ARTIFACTS / f"{self.name}.log"
        if not path.exists():
            return ""
        with path.open("rb") as log:
            log.seek(self.log_from)
            return log.read().decode(errors="replace")

    def tail(self, chars: int = 6000) -> str:
        """The end of the log."""
        path = ARTIFACTS / f"{self.name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def dump_stacks(self) -> None:
        """Ask a running service to log its thread and task stacks (sst_core.logs)."""
        if self.process and self.process.poll() is None:
            for sig in (signal.SIGUSR1, signal.SIGUSR2):
                os.kill(self.process.pid, sig)

    def assert_running(self) -> None:
        """Fail with the log's tail if the process died."""
        assert self.process is not None
        if self.process.poll() is not None:
            tail = (ARTIFACTS / f"{self.name}.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{tail}")


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll an async check until it holds, or fail naming what never happened."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


async def wait_ready(backend: Service, base: str, within: float, what: str) -> None:
    """Until the backend at `base` answers /ready (failing at once if its process died)."""

    async def ready() -> bool:
        backend.assert_running()
        try:
            async with httpx.AsyncClient(timeout=1) as client:
                return (await client.get(f"{base}/ready")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, within, what)


async def start_platform(services: dict[str, Service], port: int) -> str:
    """Start every service, wait until the backend on `port` is ready; its base URL (also
    kept as services["backend"].env["_BASE_URL"] for the tests)."""
    for service in services.values():
        service.start()
    base = f"http://127.0.0.1:{port}"
    backend = services["backend"]
    # Start-up, not a product bound: on a machine shared with other suites it can take long.
    await wait_ready(backend, base, 90, "the backend to be ready")
    backend.env["_BASE_URL"] = base
    return base
