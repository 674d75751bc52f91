"""A client of Mosquitto's dynamic-security control API, awaited from asyncio.

Commands are JSON published to `$CONTROL/dynamic-security/v1`; the broker answers each on
`$CONTROL/dynamic-security/v1/response`, echoing our `correlationData`. paho runs in its
own thread (loop_start); its callbacks only resolve asyncio futures through
`call_soon_threadsafe`, so nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger("sst.backend.broker")

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
Command = dict[str, Any]


class BrokerUnavailable(Exception):
    """The broker did not take or answer a command in time (down, or our login refused)."""


class BrokerCommandError(Exception):
    """The broker refused a command; `error` is its own words."""

    def __init__(self, command: str, error: str) -> None:
        super().__init__(f"{command}: {error}")
        self.command, self.error = command, error


class BrokerAdmin:
    """One admin session on the broker; `execute` sends commands and awaits their answers."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        tls: bool = False,
        timeout_s: float = 5.0,
    ) -> None:
        self.timeout_s = timeout_s
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._refused: str | None = None
        self._pending: dict[str, asyncio.Future[Command]] = {}
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sst-backend-admin-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(username, password)
        if tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    async def start(self) -> None:
        """Start connecting in the background; a broker that is down is retried by paho."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()

    async def close(self) -> None:
        """Disconnect and stop paho's thread."""
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._fail_pending("the broker admin client was closed")

    async def __aenter__(self) -> BrokerAdmin:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, commands: list[Command], *, check: bool = True) -> list[Command]:
        """Run commands in one message; their responses in order (raise on an error if `check`)."""
        if not commands:
            return []
        try:
            await asyncio.wait_for(self._ready.wait(), self.timeout_s)
        except TimeoutError:
            why = self._refused or f"no connection to {self._host}:{self._port}"
            raise BrokerUnavailable(f"MQTT broker unavailable ({why})") from None
        loop = asyncio.get_running_loop()
        tagged, futures = [], []
        for command in commands:
            tag = uuid.uuid4().hex
            future: asyncio.Future[Command] = loop.create_future()
            self._pending[tag] = future
            futures.append(future)
            tagged.append({**command, "correlationData": tag})
        try:
            self._client.publish(CONTROL_TOPIC, orjson.dumps({"commands": tagged}), qos=1)
            done = await asyncio.wait_for(asyncio.gather(*futures), self.timeout_s)
        except TimeoutError:
            raise BrokerUnavailable("the MQTT broker did not answer in time") from None
        finally:
            for command in tagged:
                self._pending.pop(command["correlationData"], None)
        if check:
            for response in done:
                if response.get("error"):
                    raise BrokerCommandError(str(response.get("command")), str(response["error"]))
        return list(done)

    # -- paho's thread -------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            self._refused = f"broker refused the admin login: {reason}"
            log.error("%s", self._refused)
            return
        self._refused = None
        # Subscribed before any command is sent: `_ready` is set only once the SUBACK is in.
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def _on_subscribe(
        self, _c: Any, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            self._refused = "the admin account may not read the control API's responses"
            log.error("%s", self._refused)
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._ready.set)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ready.clear)
            # A command in flight may or may not have been applied; the caller decides.
            self._loop.call_soon_threadsafe(self._fail_pending, f"connection lost ({reason})")

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            responses = orjson.loads(message.payload).get("responses", [])
        except (orjson.JSONDecodeError, AttributeError):
            log.warning("unreadable control API response: %r", message.payload[:200])
            return
        if self._loop is None or self._loop.is_closed():
            return
        for response in responses:
            if isinstance(response, dict):
                self._loop.call_soon_threadsafe(self._resolve, response)

    # -- event loop ----------------------------------------------------------------

    def _resolve(self, response: Command) -> None:
        future = self._pending.get(str(response.get("correlationData")))
        if future is not None and not future.done():
            future.set_result(response)

    def _fail_pending(self, why: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrokerUnavailable(f"MQTT broker: {why}"))
