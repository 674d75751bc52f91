"""Names shared across services: MQTT topics, Redis streams and groups, Socket.IO events."""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, urlsplit

# MQTT contract, version 1 (docs/mqtt.md). One subtree per hub.
MQTT_ROOT: Final = "sst/v1"
HUB_TOPIC_PREFIX: Final = f"{MQTT_ROOT}/hubs"
TELEMETRY: Final = "telemetry"
EVENTS: Final = "events"
STATUS: Final = "status"
HUB_TOPIC_KINDS: Final = (TELEMETRY, EVENTS, STATUS)
GATEWAY_SHARE_GROUP: Final = "sst-gateways"


def hub_topic(hub_serial: str, kind: str) -> str:
    """The topic a hub publishes one kind of message on."""
    return f"{HUB_TOPIC_PREFIX}/{hub_serial}/{kind}"


def gateway_subscriptions(shared: bool) -> list[str]:
    """Topic filters the gateway subscribes to; shared ones spread hubs over gateways."""
    filters = [f"{HUB_TOPIC_PREFIX}/+/{kind}" for kind in HUB_TOPIC_KINDS]
    if shared:
        return [f"$share/{GATEWAY_SHARE_GROUP}/{f}" for f in filters]
    return filters


# Redis streams. PostgreSQL is the truth; a stream only tells a consumer what is new.
READINGS_STREAM: Final = "sst:stream:readings"
# The readings of sensors whose one reading is an emergency (URGENT_SENSOR_KINDS), also
# written here by the gateway, so that inference never finds a fall queued behind telemetry.
URGENT_STREAM: Final = "sst:stream:urgent"
ALERTS_STREAM: Final = "sst:stream:alerts"
# A windowed rule's latest check of a resident changed (sst_core.rule_checks), inference ->
# backend -> the resident page, after the commit that stored it.
RULE_CHECKS_STREAM: Final = "sst:stream:rule_checks"
INFERENCE_GROUP: Final = "ai_inference"
BACKEND_GROUP: Final = "backend"
STREAM_MAXLEN: Final = 1_000_000

# Socket.IO
SOCKETIO_CHANNEL: Final = "sst-socketio"


def socketio_channel(redis_url: str) -> str:
    """The Socket.IO manager's pub/sub channel of the deployment using this Redis database.

    Redis pub/sub channels are shared by all databases of a server: without the database
    number in the name, two deployments (or test runs) on one Redis would hear each other.
    """
    parts = urlsplit(redis_url)
    database = parts.path.strip("/") or dict(parse_qsl(parts.query)).get("db", "0")
    return database_channel(SOCKETIO_CHANNEL, database)


def database_channel(base: str, database: int | str) -> str:
    """A pub/sub channel of one Redis database: `base` with the database number.

    Channels are shared by every database of a Redis server; each SST channel carries the
    number of the database its deployment uses, so a test run or a second deployment on
    the same server never hears (or acts on) another's messages.
    """
    return f"{base}:{database}"


ALERT_EVENT: Final = "alert"


def resident_room(resident_id: int) -> str:
    """Socket.IO room of everyone allowed to follow one resident."""
    return f"resident:{resident_id}"


def facility_room(facility_id: int) -> str:
    """Socket.IO room of staff who see a whole facility."""
    return f"facility:{facility_id}"


# -- Devices: hub presence and robots (docs/mqtt.md, "Presence" and "Robots") ----------
ROBOT_TOPIC_PREFIX: Final = f"{MQTT_ROOT}/robots"
ROBOT_COMMANDS: Final = "commands"  # down, gateway -> robot
ROBOT_ACKS: Final = "acks"  # up
ROBOT_PROGRESS: Final = "progress"  # up
ROBOT_STATUS: Final = "status"  # up, retained; the last will says offline
ROBOT_UPLINK_KINDS: Final = (ROBOT_ACKS, ROBOT_PROGRESS, ROBOT_STATUS)

# Hub online/offline and sensor battery crossings, gateway -> inference (device alerts).
DEVICE_EVENTS_STREAM: Final = "sst:stream:device_events"
# Command ids the backend queued (the row in robot_commands is the truth) -> gateway.
ROBOT_COMMANDS_STREAM: Final = "sst:stream:robot_commands"
ROBOT_RELAY_GROUP: Final = "hub_gateway"
# Command lifecycle changes and robot status, gateway -> backend/dashboard.
ROBOT_EVENTS_STREAM: Final = "sst:stream:robot_events"


def robot_topic(robot_serial: str, kind: str) -> str:
    """The topic of one kind of robot message (commands down; acks, progress, status up)."""
    return f"{ROBOT_TOPIC_PREFIX}/{robot_serial}/{kind}"


def robot_subscriptions(share_group: str | None) -> list[str]:
    """Topic filters the gateway's robot relay subscribes to (everything robots send)."""
    filters = [f"{ROBOT_TOPIC_PREFIX}/+/{kind}" for kind in ROBOT_UPLINK_KINDS]
    if share_group:
        return [f"$share/{share_group}/{f}" for f in filters]
    return filters


# Routine models: ai_training publishes {"resident_id", "version"} here when it promotes a
# version (resident_id null: the population prior); ai_inference reloads that resident.
ROUTINE_MODELS_CHANNEL: Final = "sst:routine_models:promoted"
# -- Emergency video (docs/video.md) -------------------------------------------------------
# In each hub's subtree: the backend asks the hub's camera agent to start, relays the viewer's
# offer and ICE candidates, and stops it (down); the agent answers (up).
VIDEO_DOWN: Final = "video/down"
VIDEO_UP: Final = "video/up"
# The backends of one database share the camera agents' answers (SST_VIDEO_SHARE_GROUP,
# default "sst-backends"): one backend handles each message.
# Socket.IO events of a video session (docs/video.md, "Events").
VIDEO_STATE_EVENT: Final = "video:state"
VIDEO_ANSWER_EVENT: Final = "video:answer"
VIDEO_CANDIDATE_EVENT: Final = "video:candidate"
VIDEO_ERROR_EVENT: Final = "video:error"
VIDEO_OFFER_EVENT: Final = "video:offer"
VIDEO_HANGUP_EVENT: Final = "video:hangup"


def video_subscription(share_group: str | None) -> str:
    """Topic filter of the camera agents' answers (shared between backends when grouped)."""
    topic = f"{HUB_TOPIC_PREFIX}/+/{VIDEO_UP}"
    return f"$share/{share_group}/{topic}" if share_group else topic
