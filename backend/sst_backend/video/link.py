"""The backend's MQTT link to the camera agents: publishes to `video/down`, reads `video/up`.

Its own broker account (SST_VIDEO_MQTT_USERNAME, role sst-backend in
docker/mosquitto/accounts.sh) may only publish to `sst/v1/hubs/+/video/down` and read
`sst/v1/hubs/+/video/up`, the latter through a shared subscription so that with several
backends each answer is handled once. paho runs in its own thread; messages reach asyncio
through `call_soon_threadsafe`, nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from sst_backend.settings import BackendSettings
from sst_core.const import VIDEO_DOWN, hub_topic, video_subscription

log = logging.getLogger("sst.backend.video.link")

Incoming = tuple[str, bytes]  # topic, payload


class VideoLink:
    """One MQTT session of the backend for video signaling."""

    def __init__(self, settings: BackendSettings) -> None:
        assert settings.video_mqtt_password is not None
        self.incoming: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=10_000)
        self.ready = asyncio.Event()
        self._settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sst-backend-video-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(
            settings.video_mqtt_username, settings.video_mqtt_password.get_secret_value()
        )
        if settings.mqtt_tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    async def start(self) -> None:
        """Connect in the background; a broker that is down is retried by paho."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._settings.mqtt_host, self._settings.mqtt_port, 30)
        self._client.loop_start()

    async def close(self) -> None:
        """Disconnect and stop paho's thread."""
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def publish(self, hub_serial: str, payload: bytes) -> bool:
        """Send one message down to a hub's camera agent (QoS 1); False if not connected."""
        info = self._client.publish(hub_topic(hub_serial, VIDEO_DOWN), payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("video message for hub %s not sent now: %s", hub_serial, info.rc)
            return False
        return True

    # -- paho's thread -------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            log.error("the broker refused the video account: %s", rc)
            return
        client.subscribe(video_subscription(self._settings.video_share_group), qos=1)

    def _on_subscribe(self, _c: Any, _u: Any, _m: int, rcs: list[ReasonCode], _p: Any) -> None:
        if any(rc.is_failure for rc in rcs):
            log.error("the video account may not read the camera agents' answers")
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.ready.set)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.ready.clear)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._put, (message.topic, bytes(message.payload)))

    def _put(self, item: Incoming) -> None:
        try:
            self.incoming.put_nowait(item)
        except asyncio.QueueFull:
            log.error("video answers are not handled fast enough; dropped one from %s", item[0])
