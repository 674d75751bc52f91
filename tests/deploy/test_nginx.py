"""proxy/nginx.conf: `nginx -t` passes, and a real nginx redirects, terminates TLS and upgrades
Socket.IO to WebSocket in front of a stand-in backend.

The shipped file names the compose hosts (`backend`) and container paths; the test renders a
copy with local ports, a temporary certificate and no `user` line (Debian has no `nginx`
user), and checks every substitution took, so the copy cannot drift from the real file.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, require_tool
from tests.ports import free_port

NGINX_CONF = REPO / "proxy/nginx.conf"


def substitute(text: str, pattern: str, replacement: str) -> str:
    """Replace a pattern the shipped file must contain; a miss fails the test."""
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"proxy/nginx.conf no longer matches {pattern!r}"
    return new


@dataclass
class Proxy:
    """A rendered copy of proxy/nginx.conf and where it listens."""

    conf: Path
    prefix: Path
    http_port: int
    https_port: int
    upstream_port: int
    cert: Path


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, dev_cert: Path) -> Proxy:
    """The shipped config, pointed at local ports and a generated certificate."""
    prefix = tmp_path_factory.mktemp("nginx")
    http_port, https_port, upstream_port = free_port(), free_port(), free_port()
    text = NGINX_CONF.read_text()
    text = substitute(text, r"^user nginx;$", "")
    text = substitute(text, r"^pid .*;$", f"pid {prefix}/nginx.pid;")
    text = substitute(text, r"server backend:8000", f"server 127.0.0.1:{upstream_port}")
    text = substitute(text, r"/etc/nginx/certs/", f"{dev_cert}/")
    text = substitute(text, r"listen 80;", f"listen 127.0.0.1:{http_port};")
    text = substitute(text, r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    text = substitute(text, r"^\s*listen \[::\]:(80|443).*$", "")
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return Proxy(conf, prefix, http_port, https_port, upstream_port, dev_cert / "fullchain.pem")


class StandInBackend(socketserver.ThreadingTCPServer):
    """Records each request head; answers plain requests with them, upgrades and echoes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.heads: list[tuple[str, dict[str, str]]] = []


class _Handler(socketserver.StreamRequestHandler):
    server: StandInBackend

    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline().decode("latin-1").strip()
            if not request_line:
                return
            headers: dict[str, str] = {}
            while (line := self.rfile.readline().decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.server.heads.append((request_line, headers))
            if headers.get("upgrade", "").lower() == "websocket":
                self.wfile.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\n\r\n"
                )
                while chunk := self.request.recv(4096):
                    self.request.sendall(chunk)
                return
            body = json.dumps({"request": request_line, "headers": headers}).encode()
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )


@pytest.fixture(scope="module")
def running(proxy: Proxy) -> Iterator[StandInBackend]:
    """nginx in the foreground on the rendered config, with the stand-in backend behind it."""
    nginx = require_tool("nginx", "/usr/sbin/nginx")
    backend = StandInBackend(proxy.upstream_port)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    log = proxy.prefix / "nginx.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                nginx,
                "-e",
                "stderr",
                "-p",
                str(proxy.prefix),
                "-c",
                str(proxy.conf),
                "-g",
                "daemon off;",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", proxy.https_port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {log.read_text()}")
                time.sleep(0.1)
        yield backend
    finally:
        process.terminate()
        process.wait(timeout=10)
        backend.shutdown()
        backend.server_close()


def tls_context(proxy: Proxy) -> ssl.SSLContext:
    """A client context that trusts only the generated certificate, and checks its name."""
    context = ssl.create_default_context(cafile=str(proxy.cert))
    context.check_hostname = True
    return context


def test_nginx_t_accepts_the_shipped_config(proxy: Proxy) -> None:
    nginx = require_tool("nginx", "/usr/sbin/nginx")
    result = subprocess.run(
        [nginx, "-e", "stderr", "-t", "-p", str(proxy.prefix), "-c", str(proxy.conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_http_redirects_to_https(proxy: Proxy, running: StandInBackend) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=5)
    connection.request("GET", "/api/v1/residents?page=2", headers={"Host": "sst.example.org"})
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == "https://sst.example.org/api/v1/residents?page=2"
    connection.close()
    assert not [head for head in running.heads if "residents" in head[0]]


def test_api_is_proxied_over_tls_with_forwarded_headers(
    proxy: Proxy, running: StandInBackend
) -> None:
    connection = http.client.HTTPSConnection(
        "localhost", proxy.https_port, context=tls_context(proxy), timeout=5
    )
    connection.request("GET", "/api/v1/alerts?state=open")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security")
    seen = json.loads(response.read())
    connection.close()
    assert seen["request"] == "GET /api/v1/alerts?state=open HTTP/1.1"
    headers = seen["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["host"] == "localhost"
    # A plain request must not ask the backend for an upgrade.
    assert "upgrade" not in headers.get("connection", "").lower()


def test_dashboard_root_goes_to_the_backend(proxy: Proxy, running: StandInBackend) -> None:
    connection = http.client.HTTPSConnection(
        "localhost", proxy.https_port, context=tls_context(proxy), timeout=5
    )
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["request"] == "GET / HTTP/1.1"
    connection.close()


def test_socketio_websocket_is_upgraded_end_to_end(proxy: Proxy, running: StandInBackend) -> None:
    raw = socket.create_connection(("127.0.0.1", proxy.https_port), timeout=5)
    with tls_context(proxy).wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            b"Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(4096)
            assert chunk, f"nginx closed the connection after {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        # Once upgraded, bytes flow both ways through nginx untouched.
        tls.sendall(b"2probe")
        assert tls.recv(64) == b"2probe"
    request, headers = next(h for h in running.heads if h[0].startswith("GET /socket.io/"))
    assert request == "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1"
    assert headers["upgrade"] == "websocket"
    assert headers["connection"].lower() == "upgrade"
    assert headers["x-forwarded-proto"] == "https"


def _block(text: str, opening: str) -> str:
    """The body of the first `{ ... }` block that starts with `opening`."""
    start = text.index(opening)
    depth = 0
    for index in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start : index + 1]
    raise AssertionError(f"unclosed block {opening}")


def test_socketio_sticks_to_one_backend_and_outlives_the_ping() -> None:
    text = NGINX_CONF.read_text()
    upstream = _block(text, "upstream sst_backend")
    assert re.search(r"^\s*ip_hash;", upstream, re.MULTILINE)
    socketio = _block(text, "location /socket.io/")
    assert "proxy_pass http://sst_backend;" in socketio
    assert re.search(r"proxy_buffering off;", socketio)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", socketio)
    # Engine.IO's ping interval (25 s) plus its timeout (20 s).
    assert timeout and int(timeout.group(1)) > 45
    assert re.search(r"^\s*client_max_body_size \d+[km];", text, re.MULTILINE)
