"""Settings of the hub gateway, read once from SST_* variables (and `.env`)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from sst_core.const import GATEWAY_SHARE_GROUP, HUB_TOPIC_KINDS, HUB_TOPIC_PREFIX, STREAM_MAXLEN
from sst_core.messages import MAX_PAYLOAD_BYTES, MAX_READINGS_PER_MESSAGE
from sst_core.settings import SSTSettings


class GatewaySettings(SSTSettings):
    """What one gateway process needs: MQTT session, batching, validation limits, upkeep."""

    mqtt_client_id: str = Field(
        default="sst-hub-gateway",
        description="Fixed MQTT client id: with clean_session=False the broker keeps our "
        "subscriptions and queues QoS 1 messages while we are away.",
    )
    mqtt_share_group: str | None = Field(
        default=None,
        description=(
            "Shared-subscription group ($share/<group>/...) spreading hubs over several "
            f"gateways (e.g. {GATEWAY_SHARE_GROUP}); unset or empty subscribes plainly. "
            "Mosquitto 2.0 does not restore shared subscriptions after its own restart, so "
            "messages hubs send before a gateway is back are dropped: one gateway with a plain "
            "subscription is the lossless choice on Mosquitto (docs/operations.md)."
        ),
    )
    mqtt_keepalive_s: int = 30
    mqtt_max_inflight: int = Field(
        default=1000,
        ge=1,
        description="QoS 1 messages the gateway sends (robot commands) unacknowledged at once. "
        "Incoming messages in flight are the broker's limit (mosquitto: max_inflight_messages, "
        "20 by default); raise that to a few batches' worth of messages, since the gateway "
        "acknowledges only after each batch is committed.",
    )
    batch_max_readings: int = Field(default=5000, ge=1)
    batch_max_delay_ms: int = Field(default=20, ge=0)
    urgent_flushes_per_s: float = Field(
        default=20.0,
        ge=0,
        description="Batches cut short for an urgent event (a message on .../events: fall, "
        "button, smoke), at most this many a second; beyond it, events wait for their batch "
        "like telemetry, so a hub flooding its events topic cannot shrink every batch.",
    )
    queue_max_messages: int = Field(
        default=20_000, ge=1, description="Messages waiting in memory before MQTT is slowed."
    )
    max_future_skew_s: int = 300
    max_age_days: int = 365
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    directory_refresh_s: float = Field(
        default=60.0, description="How long a resolved hub (its sensors, resident) is trusted."
    )
    directory_miss_retry_s: float = Field(
        default=5.0, description="An unknown hub or sensor is looked up again at most this often."
    )
    hub_seen_interval_s: float = Field(
        default=30.0, description="How often telemetry bumps hubs.last_seen_at per hub."
    )
    stream_maxlen: int = STREAM_MAXLEN
    retry_max_delay_s: float = 10.0
    partition_maintenance_interval_s: float = 3600.0
    metrics_log_interval_s: float = 60.0
    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Prometheus /metrics port; 0 serves none."
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address /metrics listens on (0.0.0.0 in a container)."
    )
    # Per hub serial, token buckets (rate per second, burst). A rate of 0 turns a limit off.
    rate_limit_messages_per_s: float = Field(default=50.0, ge=0)
    rate_limit_messages_burst: int = Field(default=500, ge=1)
    rate_limit_readings_per_s: float = Field(default=2000.0, ge=0)
    rate_limit_readings_burst: int = Field(
        default=20_000,
        ge=MAX_READINGS_PER_MESSAGE,
        description="At least one full telemetry message, or such a message could never pass.",
    )
    rate_limit_report_interval_s: float = Field(
        default=10.0, gt=0, description="At most one 'rate limited' dead letter per hub this often."
    )

    # -- presence and batteries (presence.py) --
    hub_heartbeat_timeout_s: float = Field(
        default=180.0,
        gt=0,
        description="A hub not heard from for this long is offline (3 heartbeats of 60 s).",
    )
    presence_sweep_interval_s: float = Field(
        default=15.0, gt=0, description="How often silent hubs are looked for."
    )
    battery_low_pct: float = Field(
        default=20.0, ge=0, le=100, description="Below this a sensor's battery is low."
    )
    battery_clear_pct: float = Field(
        default=25.0, ge=0, le=100, description="Above this a low battery counts as replaced."
    )
    # -- robot relay (robots.py) --
    robot_sweep_interval_s: float = Field(
        default=5.0, gt=0, description="How often commands are expired and resent."
    )
    robot_ack_timeout_s: float = Field(
        default=15.0, gt=0, description="A sent command not acknowledged this long is resent."
    )
    robot_max_attempts: int = Field(
        default=5, ge=1, description="Publishes per command at most; then it waits to expire."
    )
    robot_status_timeout_s: float = Field(
        default=120.0, gt=0, description="A robot not heard from for this long is offline."
    )

    def topic_filters(self) -> list[str]:
        """The topic filters this gateway subscribes to (QoS 1)."""
        filters = [f"{HUB_TOPIC_PREFIX}/+/{kind}" for kind in HUB_TOPIC_KINDS]
        if self.mqtt_share_group:
            return [f"$share/{self.mqtt_share_group}/{f}" for f in filters]
        return filters

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.battery_clear_pct < self.battery_low_pct:
            raise ValueError("battery_clear_pct must be at least battery_low_pct")
        return self
