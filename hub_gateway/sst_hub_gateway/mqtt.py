"""paho-mqtt's network thread feeding asyncio: messages in, acknowledgements out.

paho runs its own thread (loop_start) and reconnects by itself. Its callbacks only hand
messages to the event loop through a bounded `Inbox`; PostgreSQL and Redis are never
touched from paho's thread. QoS 1 messages are acknowledged by hand (`ack`) once the
service has stored them, and the session is persistent (clean_session=False, fixed
client id), so whatever was not acknowledged is delivered again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from sst_hub_gateway.inbox import Inbox
from sst_hub_gateway.settings import GatewaySettings

log = logging.getLogger("sst.gateway.mqtt")

_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 PUBACK: type, remaining length 2, packet id


class _Client(mqtt.Client):
    """paho's client without the per-message topic matching the gateway does not use.

    paho matches every incoming topic against the filters of `message_callback_add`
    before it calls `on_message`, even when there are none: a tenth of the gateway's CPU
    with single-reading messages. Once a filtered callback is added, paho's own path runs.
    """

    _filtered_callbacks = False

    def message_callback_add(self, sub: str, callback: Any) -> None:
        """As paho's; from then on every message goes through paho's matcher."""
        self._filtered_callbacks = True
        super().message_callback_add(sub, callback)

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        on_message = self.on_message
        if self._filtered_callbacks or on_message is None:
            super()._handle_on_message(message)
            return
        with self._in_callback_mutex:
            on_message(self, self._userdata, message)


@dataclass(slots=True)
class InboundMessage:
    """One MQTT message as received, with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    session: int  # which connection delivered it: a mid is only meaningful on that one
    received_at: float  # time.time()


class MqttBridge:
    """The gateway's MQTT client; `inbox` receives every message for the event loop."""

    def __init__(
        self,
        settings: GatewaySettings,
        loop: asyncio.AbstractEventLoop,
        inbox: Inbox[InboundMessage],
        *,
        client_id: str | None = None,
        topic_filters: list[str] | None = None,
    ) -> None:
        self._settings = settings
        self._client_id = client_id or settings.mqtt_client_id
        self._filters = topic_filters if topic_filters is not None else settings.topic_filters()
        self._loop = loop
        # Bounds the messages in memory: when full, paho's thread waits in on_message, stops
        # reading its socket, and the broker holds the rest (TCP back-pressure, no drop).
        self._inbox = inbox
        self._closing = threading.Event()
        self._session = 0
        self.subscribed = asyncio.Event()
        self.connected = False
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        if settings.mqtt_username:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            client.username_pw_set(settings.mqtt_username, password)
        if settings.mqtt_tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        # Outgoing QoS 1 messages in flight (robot commands); paho's default is 20.
        client.max_inflight_messages_set(settings.mqtt_max_inflight)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until `stop`."""
        self._client.connect_async(
            self._settings.mqtt_host, self._settings.mqtt_port, self._settings.mqtt_keepalive_s
        )
        self._client.loop_start()

    def ack(self, message: InboundMessage) -> None:
        """Acknowledge a stored QoS 1 message (non-blocking: paho's thread sends it)."""
        self.ack_many([message])

    def ack_many(self, messages: Iterable[InboundMessage]) -> None:
        """Acknowledge stored QoS 1 messages in one write (non-blocking)."""
        # After a reconnect the broker redelivers what was unacknowledged; an old mid must
        # not be acked on the new connection, and the redelivery is stored idempotently.
        session = self._session
        mids = [m.mid for m in messages if m.qos == 1 and m.session == session]
        if not mids:
            return
        queue_packet = getattr(self._client, "_packet_queue", None)
        if queue_packet is None or len(mids) == 1:
            for mid in mids:
                self._client.ack(mid, 1)
            return
        # paho sends one PUBACK per call, each with a wake-up of its thread and a send();
        # thousands per batch cost more than the batch. The PUBACKs of a batch go out as
        # one buffer instead (paho's own queue, so ordering with its other packets holds).
        pack = _PUBACK.pack
        queue_packet(mqtt.PUBACK, b"".join([pack(0x40, 2, mid) for mid in mids]), 0, 0)

    async def publish(self, topic: str, payload: bytes, *, wait_s: float = 10.0) -> bool:
        """Publish with QoS 1; True once the broker acknowledged it (PUBACK)."""
        if not self.connected:
            return False
        info = self._client.publish(topic, payload, qos=1)
        try:
            await asyncio.to_thread(info.wait_for_publish, wait_s)
        except (RuntimeError, ValueError) as exc:  # not queued: no connection, queue full
            log.warning("MQTT publish to %s failed: %s", topic, exc)
            return False
        return info.is_published()

    def stop(self) -> None:
        """Disconnect (queued acks go out first) and stop paho's thread; blocks briefly."""
        self._closing.set()
        self._inbox.release()  # wake on_message if it waits for room
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho's thread from here on --------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        self._session += 1
        self.connected = True
        log.info(
            "MQTT connected to %s:%s as %s (session present: %s)",
            self._settings.mqtt_host,
            self._settings.mqtt_port,
            self._client_id,
            flags.session_present,
        )
        client.subscribe([(topic, 1) for topic in self._filters])

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        self.connected = False
        if not self._closing.is_set():
            log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Any,
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("MQTT subscription refused: %s", failed)
            return
        self._loop.call_soon_threadsafe(self.subscribed.set)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._closing.is_set():
            return  # not acknowledged: the broker delivers it again next session
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers should refuse these; parsing dead-letters it
            topic = bytes(message._topic).decode("utf-8", errors="replace")
        payload = message.payload
        inbound = InboundMessage(
            topic,
            payload if type(payload) is bytes else bytes(payload),
            message.qos,
            message.mid,
            self._session,
            time.time(),
        )
        self._inbox.put(inbound, self._closing.is_set)
