"""The shipped coturn configuration, run by the real turnserver: TURN over TLS with the
proxy's certificate and the backend's ephemeral credentials, and nothing for a wrong one.

The configuration is docker/turn/turnserver.conf as compose mounts it; only what differs on
this machine is changed (ports, the certificate's folder, loopback addresses, the log).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aioice.turn import create_turn_endpoint

from sst_backend.video.turn import turn_password, turn_username
from tests.deploy.conftest import REPO, require_tool
from tests.ports import free_port

SECRET = "turn-test-secret"


@dataclass
class Turn:
    tls_port: int
    cert: Path


def _render(root: Path, cert_dir: Path, port: int, tls_port: int, relay: int) -> Path:
    conf = (REPO / "docker/turn/turnserver.conf").read_text()
    replacements = {
        r"^listening-port=.*$": f"listening-port={port}",
        r"^tls-listening-port=.*$": f"tls-listening-port={tls_port}",
        r"^min-port=.*$": f"min-port={relay}",
        r"^max-port=.*$": f"max-port={relay + 20}",
        r"^cert=/certs/": f"cert={cert_dir}/",
        r"^pkey=/certs/": f"pkey={cert_dir}/",
        r"^log-file=.*$": f"log-file={root}/turn.log",
    }
    for pattern, value in replacements.items():
        conf, count = re.subn(pattern, value, conf, flags=re.MULTILINE)
        assert count == 1, f"{pattern} is not in the shipped configuration"
    path = root / "turnserver.conf"
    path.write_text(conf + f"\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\npidfile={root}/pid\n")
    return path


@pytest.fixture(scope="module")
def turn(dev_cert: Path) -> Iterator[Turn]:
    """The shipped configuration under the real turnserver, as compose starts it."""
    binary = require_tool("turnserver")
    root = Path(tempfile.mkdtemp(prefix="sst-turn-"))
    root.chmod(0o755)
    port, tls_port = free_port(), free_port()
    relay = 40000 + (port % 1000) * 20
    conf = _render(root, dev_cert, port, tls_port, relay)
    process = subprocess.Popen(
        [binary, "-c", str(conf), f"--static-auth-secret={SECRET}", "--realm=sst.local"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = root / "turn.log"
                pytest.fail(
                    "turnserver did not start: " + (log.read_text() if log.exists() else "")
                )
            time.sleep(0.1)
    try:
        yield Turn(tls_port, dev_cert / "fullchain.pem")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _tls(turn: Turn) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(turn.cert))
    context.check_hostname = False  # the development certificate names localhost
    return context


async def _allocate(turn: Turn, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation over TLS; returns the relayed address. Closes everything it opened
    before returning, refused or not: closing a TLS connection takes a few turns of the loop
    (close_notify both ways), and a socket left to the garbage collector is an error here."""
    loop = asyncio.get_running_loop()
    connections: list[asyncio.Event] = []
    create_connection = loop.create_connection

    async def tracked(factory: Any, *args: Any, **kwargs: Any) -> Any:
        lost = asyncio.Event()

        def make() -> Any:
            protocol = factory()
            forward = protocol.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                lost.set()
                forward(exc)

            protocol.connection_lost = connection_lost
            return protocol

        made = await create_connection(make, *args, **kwargs)
        connections.append(lost)  # opened: it must be seen closed
        return made

    loop.create_connection = tracked  # type: ignore[method-assign, assignment]
    try:
        transport, _ = await create_turn_endpoint(
            asyncio.DatagramProtocol,
            server_addr=("127.0.0.1", turn.tls_port),
            username=username,
            password=password,
            ssl=_tls(turn),
            transport="tcp",
        )
        try:
            relayed: tuple[str, int] = transport.get_extra_info("sockname")
            return relayed
        finally:
            transport.close()
    finally:
        loop.create_connection = create_connection  # type: ignore[method-assign]
        for lost in connections:
            await asyncio.wait_for(lost.wait(), 10)


def test_a_session_credential_gets_a_relay_over_tls(turn: Turn) -> None:
    username = turn_username("session-1", expires_at_s=int(time.time()) + 600)
    host, port = asyncio.run(_allocate(turn, username, turn_password(SECRET, username)))
    assert host == "127.0.0.1" and port > 0


def test_over_tls_a_wrong_or_expired_credential_gets_nothing(turn: Turn) -> None:
    username = turn_username("session-2", expires_at_s=int(time.time()) + 600)
    with pytest.raises(Exception, match=r"401|Unauthorized|auth"):
        asyncio.run(_allocate(turn, username, turn_password("another-secret", username)))
    expired = turn_username("session-3", expires_at_s=int(time.time()) - 60)
    with pytest.raises(Exception, match=r"401|Unauthorized|auth"):
        asyncio.run(_allocate(turn, expired, turn_password(SECRET, expired)))
