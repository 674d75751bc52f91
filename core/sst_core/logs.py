"""Logging set-up shared by the services: plain lines locally, JSON lines in production."""

from __future__ import annotations

import asyncio
import faulthandler
import io
import json
import logging
import signal
import sys
from datetime import UTC, datetime

from sst_core.log_context import current_request_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the fields an operator filters on."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as JSON."""
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            payload["request_id"] = request_id
        for key in ("request_id", "hub", "resident_id"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Configure the root logger once for a service process."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def install_stack_dumps(loop: asyncio.AbstractEventLoop) -> None:
    """Let an operator see where a stuck service waits, without stopping it.

    SIGUSR1 writes every thread's stack to stderr (works even when the event loop is
    blocked); SIGUSR2 logs the stack of every asyncio task (needs a responsive loop).
    """
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)

    def dump_tasks() -> None:
        tasks = asyncio.all_tasks(loop)
        log = logging.getLogger("sst.stacks")
        log.warning("%d asyncio tasks:", len(tasks))
        for task in tasks:
            buffer = io.StringIO()
            task.print_stack(limit=12, file=buffer)
            log.warning("task %s:\n%s", task.get_name(), buffer.getvalue().rstrip())

    loop.add_signal_handler(signal.SIGUSR2, dump_tasks)
