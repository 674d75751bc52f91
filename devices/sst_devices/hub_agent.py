"""The reference IoT hub: the executable example of the MQTT contract for hub makers.

A hub owns the subtree `sst/v1/hubs/{serial}/`:

* `status` (QoS 1, retained): `{"v":1,"online":true,...}` published at every connect and
  then every `heartbeat_s` as the heartbeat, with the firmware and the sensors' battery
  levels (`{"batteries":{"front-door":87}}`); the last will, which the broker publishes
  when the hub vanishes without a DISCONNECT, is `{"v":1,"online":false}` on the same
  topic, also retained. A hub leaving on purpose publishes the offline status itself
  before it disconnects.
* `telemetry` (QoS 1): `{"v":1,"readings":[{"sensor":KEY,"ts":MS,"value":X}, ...]}`, at
  most 1000 readings per message; `ts` is the hub's clock, Unix epoch milliseconds (UTC).
* `events` (QoS 1): `{"v":1,"sensor":KEY,"ts":MS,"value":X}`: one urgent reading (a fall,
  the emergency button, smoke), sent at once, never batched.

Payloads are built from the models in sst_core.messages, so what this agent sends is what
the gateway accepts. Usage::

    agent = HubAgent("hub-0042", host="broker.example", username="hub-0042", password="...")
    agent.connect()
    agent.publish_readings([("kitchen-motion", now_ms, 1.0)])
    agent.publish_event("fall-1", now_ms)
    agent.flush()  # wait for the broker's PUBACKs
    agent.disconnect()

paho runs the network in its own thread (`loop_start`), and reconnects by itself; QoS 1
messages published while disconnected are sent after the reconnect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

import paho.mqtt.client as mqtt

from sst_core.const import EVENTS, STATUS, TELEMETRY, hub_topic
from sst_core.messages import (
    MAX_READINGS_PER_MESSAGE,
    EventIn,
    ReadingIn,
    StatusIn,
    TelemetryIn,
)
from sst_devices.settings import DevicesSettings

log = logging.getLogger("sst.devices.hub")

Reading = tuple[str, int, float]  # (sensor key, ts in epoch ms, value)
QOS = 1


def status_payload(
    online: bool,
    *,
    firmware: str | None = None,
    ts: int | None = None,
    batteries: Mapping[str, float] | None = None,
) -> bytes:
    """The JSON of a status message (also the last will, with online=False)."""
    levels = dict(batteries) if batteries else None
    return (
        StatusIn(online=online, firmware=firmware, ts=ts, batteries=levels)
        .model_dump_json(exclude_none=True)
        .encode()
    )


def telemetry_payload(readings: Sequence[Reading]) -> bytes:
    """The JSON of one telemetry message (at most MAX_READINGS_PER_MESSAGE readings)."""
    batch = [ReadingIn(sensor=key, ts=ts, value=value) for key, ts, value in readings]
    return TelemetryIn(readings=batch).model_dump_json().encode()


def event_payload(sensor_key: str, ts_ms: int, value: float = 1.0) -> bytes:
    """The JSON of one event message."""
    return EventIn(sensor=sensor_key, ts=ts_ms, value=value).model_dump_json().encode()


class HubAgent:
    """One hub's MQTT session: presence, telemetry and events on the v1 contract."""

    def __init__(
        self,
        serial: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        client_id: str | None = None,
        firmware: str | None = None,
        keepalive: int = 30,
        presence: bool = True,
        heartbeat_s: float | None = None,
    ) -> None:
        self.serial = serial
        self.heartbeat_s = heartbeat_s
        # Battery level (percent) of each battery-powered sensor, sent with every heartbeat.
        self.batteries: dict[str, float] = {}
        self._beat_stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self.host, self.port, self.keepalive = host, port, keepalive
        self.firmware = firmware
        self.presence = presence
        self.status_topic = hub_topic(serial, STATUS)
        self.telemetry_topic = hub_topic(serial, TELEMETRY)
        self.events_topic = hub_topic(serial, EVENTS)
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or serial,
            protocol=mqtt.MQTTv311,
        )
        if username:
            self._client.username_pw_set(username, password)
        if tls:
            self._client.tls_set()
        if presence:
            # The broker publishes this if the hub vanishes (power cut, network loss).
            self._client.will_set(self.status_topic, status_payload(False), qos=QOS, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._connected = threading.Event()
        self._refused: str | None = None
        # Message ids sent with QoS 1 and not yet acknowledged; ids acknowledged before
        # `publish` returned land in _early_acks (the network thread can be that fast).
        self._lock = threading.Condition()
        self._unacked: set[int] = set()
        self._early_acks: set[int] = set()

    @classmethod
    def from_settings(cls, serial: str, settings: DevicesSettings, **overrides: Any) -> HubAgent:
        """An agent for `serial` on the broker and credentials of the settings."""
        options: dict[str, Any] = {
            "host": settings.mqtt_host,
            "port": settings.mqtt_port,
            "username": settings.mqtt_username,
            "password": (
                settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            ),
            "tls": settings.mqtt_tls,
            "firmware": settings.hub_firmware,
            "keepalive": settings.hub_keepalive_s,
            "heartbeat_s": settings.hub_heartbeat_s,
        }
        options.update(overrides)
        return cls(serial, **options)

    # -- session --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the session and it is still up."""
        return self._connected.is_set()

    def connect(self, timeout: float = 10.0) -> None:
        """Open the session and start the network thread; raise if the broker refuses.

        With presence, it returns once the broker has acknowledged the online status
        (retained): whoever subscribes afterwards finds the hub online.
        """
        self._refused = None
        self._client.connect(self.host, self.port, keepalive=self.keepalive)
        self._client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._connected.wait(0.05):
            if self._refused or time.monotonic() > deadline:
                self._client.loop_stop()
                self._client.disconnect()
                reason = self._refused or f"no CONNACK within {timeout}s"
                raise ConnectionError(f"hub {self.serial}: broker refused: {reason}")
        if self.presence:
            try:
                self.flush(max(0.1, deadline - time.monotonic()))
            except TimeoutError as exc:
                self._client.loop_stop()
                self._client.disconnect()
                raise ConnectionError(f"hub {self.serial}: online status not acknowledged") from exc
        if self.presence and self.heartbeat_s and self._beat_thread is None:
            self._beat_stop = threading.Event()
            self._beat_thread = threading.Thread(
                target=self._beat,
                args=(self._beat_stop, self.heartbeat_s),
                name=f"heartbeat-{self.serial}",
                daemon=True,
            )
            self._beat_thread.start()

    def disconnect(self, timeout: float = 5.0) -> None:
        """Say offline (retained), wait for pending PUBACKs, and close the session."""
        self._beat_stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout)
            self._beat_thread = None
        if self.presence and self.connected:
            self._publish(self.status_topic, status_payload(False, ts=_now_ms()), retain=True)
        try:
            self.flush(timeout)
        except TimeoutError as exc:  # leaving anyway; the broker keeps nothing of ours
            log.warning("%s; disconnecting regardless", exc)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            self._connected.clear()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            log.error("hub %s: broker refused the connection: %s", self.serial, reason)
            return
        if self.presence:  # also after a reconnect: the will may have said offline meanwhile
            self.heartbeat()  # queued before `connect` wakes, so that it can wait for the ack
        self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("hub %s: connection lost (%s); reconnecting", self.serial, reason)

    # -- publishing -----------------------------------------------------------------

    def heartbeat(self) -> None:
        """Publish the online status now (retained), with firmware and battery levels."""
        payload = status_payload(
            True, firmware=self.firmware, ts=_now_ms(), batteries=self.batteries
        )
        self._publish(self.status_topic, payload, retain=True)

    def _beat(self, stop: threading.Event, period_s: float) -> None:
        while not stop.wait(period_s):
            if self.connected:  # while reconnecting, the connect itself says online
                self.heartbeat()

    def publish_readings(self, readings: Iterable[Reading]) -> int:
        """Send readings on telemetry in messages of at most 1000; the number of messages."""
        messages = 0
        iterator = iter(readings)
        while batch := list(islice(iterator, MAX_READINGS_PER_MESSAGE)):
            self._publish(self.telemetry_topic, telemetry_payload(batch))
            messages += 1
        return messages

    def publish_event(self, sensor_key: str, ts_ms: int, value: float = 1.0) -> None:
        """Send one urgent reading (fall, button, smoke) on the events topic."""
        self._publish(self.events_topic, event_payload(sensor_key, ts_ms, value))

    def flush(self, timeout: float = 10.0) -> None:
        """Block until the broker acknowledged every message sent so far."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._unacked:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"hub {self.serial}: {len(self._unacked)} messages unacknowledged"
                    )
                self._lock.wait(remaining)

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise BufferError(f"hub {self.serial}: outgoing queue full")
        # rc NO_CONN still queues a QoS 1 message: paho sends it after the reconnect.
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
            else:
                self._unacked.add(info.mid)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
                self._lock.notify_all()
            else:
                self._early_acks.add(mid)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
