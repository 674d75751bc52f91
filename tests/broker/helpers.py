"""MQTT clients for broker security tests: log in as someone, collect what arrives."""

from __future__ import annotations

import queue
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import MQTT_HOST, MQTT_PORT


def close(client: mqtt.Client) -> None:
    """Disconnect, stop the network thread and close paho's wake-up sockets."""
    client.disconnect()
    client.loop_stop()
    # paho-mqtt leaves loop_start()'s socket pair open until garbage collection, which
    # warnings-as-errors would report in whichever test happens to collect it.
    client._reset_sockets(sockpair_only=True)


def connect_code(username: str | None, password: str | None) -> int:
    """The CONNACK reason code the broker gives these credentials (0 is accepted)."""
    codes: queue.Queue[int] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sec-{uuid.uuid4().hex}")
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = lambda c, u, f, reason, p: codes.put(reason.value)
    client.connect(MQTT_HOST, MQTT_PORT, keepalive=10)
    client.loop_start()
    try:
        return codes.get(timeout=10)
    finally:
        close(client)


class Device:
    """A logged-in MQTT client (MQTT 3.1.1, as hubs use) that collects what it receives."""

    def __init__(self, username: str, password: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.dropped = threading.Event()
        self._acks: queue.Queue[list[int]] = queue.Queue()
        connected: queue.Queue[int] = queue.Queue()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sec-{uuid.uuid4().hex}")
        client.username_pw_set(username, password)
        client.on_connect = lambda c, u, f, reason, p: connected.put(reason.value)
        client.on_disconnect = lambda *_: self.dropped.set()
        client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        client.on_subscribe = lambda c, u, mid, codes, p: self._acks.put([x.value for x in codes])
        # A dropped test client must stay dropped: paho would otherwise try again by itself.
        client.reconnect_delay_set(min_delay=120, max_delay=120)
        client.connect(MQTT_HOST, MQTT_PORT, keepalive=10)
        client.loop_start()
        self.client = client
        code = connected.get(timeout=10)
        assert code == 0, f"{username} was refused ({code})"

    def subscribe(self, topic: str) -> list[int]:
        """Subscribe at QoS 1; the SUBACK's codes (0x80 = refused)."""
        self.client.subscribe(topic, qos=1)
        return self._acks.get(timeout=10)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK (sent even for a refused topic)."""
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=10)

    def received(self, settle: float = 0.5) -> list[tuple[str, bytes]]:
        """Everything received so far, after waiting `settle` seconds for stragglers."""
        time.sleep(settle)
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out

    def close(self) -> None:
        """Disconnect."""
        close(self.client)
