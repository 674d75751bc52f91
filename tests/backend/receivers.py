"""Real local receivers of notifications: an SMTP server, a webhook receiver that checks
signatures, and a stand-in Web Push service that checks VAPID and decrypts the payload."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import http_ece
import orjson
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from tests.ports import free_port


@dataclass
class Mailbox:
    """Messages a real SMTP server (aiosmtpd) accepted, and addresses it refuses."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        """Messages addressed to `address`."""
        return [m for m in self.messages if m["To"] == address]


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    """An SMTP server on a free local port (aiosmtpd runs it in its own thread)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield mailbox, port
    finally:
        await asyncio.to_thread(controller.stop)


def body_text(message: Message) -> str:
    """The plain-text body of an e-mail."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@dataclass
class Hook:
    """One webhook endpoint of the receiver: its secret, and how it should behave."""

    secret: str
    fail_first: int = 0  # answer 503 to this many valid requests first
    hang_s: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    rejected: int = 0


class WebhookReceiver:
    """An HTTP server that accepts a webhook only with a valid, fresh HMAC signature."""

    def __init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self.port = 0

    def url(self, name: str) -> str:
        """Where the named hook listens."""
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    async def handle(self, request: web.Request) -> web.Response:
        hook = self.hooks.get(request.match_info["name"])
        if hook is None:
            return web.Response(status=404)
        body = await request.read()
        hook.arrivals.append(time.monotonic())
        timestamp = request.headers.get("X-SST-Timestamp", "")
        signature = request.headers.get("X-SST-Signature", "")
        expected = (
            "v1="
            + hmac.new(
                hook.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        if not fresh or not hmac.compare_digest(signature, expected):
            hook.rejected += 1
            return web.Response(status=401, text="bad signature")
        if hook.hang_s:
            await asyncio.sleep(hook.hang_s)
        if hook.fail_first > 0:
            hook.fail_first -= 1
            return web.Response(status=503, text="try later")
        hook.received.append(orjson.loads(body))
        return web.Response(status=204)


@asynccontextmanager
async def serve(routes: list[web.RouteDef]) -> AsyncIterator[int]:
    """Serve aiohttp routes on a free local port."""
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A running webhook receiver."""
    receiver = WebhookReceiver()
    async with serve([web.post("/hooks/{name}", receiver.handle)]) as port:
        receiver.port = port
        yield receiver


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Browser:
    """A browser's push subscription: its own key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def make(cls) -> Browser:
        return cls(key=ec.generate_private_key(ec.SECP256R1()), auth=os.urandom(16))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """What PushManager.subscribe() would give the page."""
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)}}


class FakePushService:
    """Stands in for a browser vendor's push service (the one thing that cannot run here).

    It refuses a request without a valid VAPID Authorization or without the aes128gcm
    encoding and TTL headers, and decrypts the body with the browser's keys, as the
    browser would.
    """

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.delivered: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.refused: list[str] = []
        self.port = 0

    def subscribe(self, name: str) -> dict[str, Any]:
        """A new browser subscription at this service."""
        browser = self.browsers[name] = Browser.make()
        return browser.subscription(f"http://127.0.0.1:{self.port}/push/{name}")

    async def handle(self, request: web.Request) -> web.Response:
        browser = self.browsers.get(request.match_info["name"])
        if browser is None:
            return web.Response(status=410)
        auth = request.headers.get("Authorization", "")
        problems = []
        if not auth.lower().startswith("vapid t="):
            problems.append("no VAPID Authorization")
        elif not Vapid.verify(auth):
            problems.append("VAPID signature does not verify")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            problems.append("not aes128gcm")
        if "TTL" not in request.headers:
            problems.append("no TTL")
        if problems:
            self.refused.extend(problems)
            return web.Response(status=400, text="; ".join(problems))
        body = await request.read()
        clear = http_ece.decrypt(
            body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
        )
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        self.delivered.append(orjson.loads(clear))
        return web.Response(status=201)


@asynccontextmanager
async def push_service() -> AsyncIterator[FakePushService]:
    """A running stand-in push service."""
    service = FakePushService()
    async with serve([web.post("/push/{name}", service.handle)]) as port:
        service.port = port
        yield service


def vapid_keys() -> tuple[str, str]:
    """A fresh VAPID key pair as (private, public), base64url, as the settings take them."""
    vapid = Vapid()
    vapid.generate_keys()
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64(private), _b64(public)
