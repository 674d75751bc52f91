"""A local mailbox for `make run`: the e-mail SST sends is kept on disk, none leaves the machine.

Escalations to staff and guardians and the guardians' daily summaries go out by SMTP. On a
development machine there is usually no mail server, and a real one would send demo mail to
the demo's invented addresses; `sst-mailbox` accepts every message on a local port, writes
it to a folder (one `.eml` file each, readable by any mail program) and logs one line per
message: to whom, and the subject.

    sst-mailbox --port 1025 --folder var/mail
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from sst_core.logs import setup_logging

log = logging.getLogger("sst.devices.mailbox")


class Keep:
    """aiosmtpd handler: every message accepted and written to `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)
        self.kept: list[Path] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        if not isinstance(content, bytes):
            content = str(content).encode()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.folder / f"{stamp}-{next(self._numbers):05d}.eml"
        await asyncio.to_thread(path.write_bytes, content)
        self.kept.append(path)
        message = message_from_bytes(content)
        subject = str(make_header(decode_header(message.get("Subject", ""))))
        log.info("mail to %s: %s (%s)", ", ".join(envelope.rcpt_tos), subject, path)
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, folder: Path, stop: asyncio.Event) -> None:
    """Accept mail on host:port until `stop` is set (`folder` must exist)."""
    handler = Keep(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname=host), host, port)
    log.info("local mailbox on %s:%d, keeping mail in %s", host, port, folder)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


def main(argv: list[str] | None = None) -> None:
    """Entry point of `sst-mailbox`."""
    parser = argparse.ArgumentParser(prog="sst-mailbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)
    setup_logging("INFO")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per command
    args.folder.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(args.host, args.port, args.folder, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
