"""JSON Schemas of the MQTT contract, generated from its models.

Regenerate with `uv run python -m sst_core.contract_schemas`.

docs/schemas/ holds one file per message type; a test fails when a model changes and the
files were not regenerated. Each schema carries an example that the test validates too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter

from sst_core.messages import EventIn, StatusIn, TelemetryIn
from sst_core.robot_messages import (
    COMMAND_ADAPTER,
    RobotAckIn,
    RobotProgressIn,
    RobotStatusIn,
)
from sst_core.video_messages import DOWN as VIDEO_DOWN_ADAPTER
from sst_core.video_messages import UP as VIDEO_UP_ADAPTER

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_T0 = 1767225600000  # 2026-01-01T00:00:00Z
_SESSION = "3f0c6f9e0d8a4a51b2f4d0a3c5e7b911"
_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n..."
_CANDIDATE = {
    "candidate": "candidate:1 1 udp 16777215 203.0.113.7 49170 typ relay raddr 0.0.0.0 rport 9",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}

# name -> (topic, validator, examples)
CONTRACT: dict[str, tuple[str, TypeAdapter[Any], list[dict[str, Any]]]] = {
    "hub-telemetry": (
        "sst/v1/hubs/{serial}/telemetry",
        TypeAdapter(TelemetryIn),
        [
            {
                "v": 1,
                "readings": [
                    {"sensor": "kitchen-motion", "ts": _T0, "value": 1},
                    {"sensor": "living-temp", "ts": _T0 + 150, "value": 21.5},
                ],
            }
        ],
    ),
    "hub-event": (
        "sst/v1/hubs/{serial}/events",
        TypeAdapter(EventIn),
        [{"v": 1, "sensor": "fall-1", "ts": _T0 + 12345, "value": 1}],
    ),
    "hub-status": (
        "sst/v1/hubs/{serial}/status",
        TypeAdapter(StatusIn),
        [
            {
                "v": 1,
                "online": True,
                "firmware": "1.4.2",
                "ts": _T0,
                "batteries": {"front-door": 87, "bathroom-motion": 18.5},
            },
            {"v": 1, "online": False},
        ],
    ),
    "robot-command": (
        "sst/v1/robots/{serial}/commands",
        COMMAND_ADAPTER,
        [
            {
                "v": 1,
                "id": 42,
                "command": "move_to",
                "args": {"room": "Bathroom"},
                "expires_at": _T0 + 120_000,
            },
            {"v": 1, "id": 43, "command": "stop", "args": {}, "expires_at": _T0 + 60_000},
        ],
    ),
    "robot-ack": (
        "sst/v1/robots/{serial}/acks",
        TypeAdapter(RobotAckIn),
        [{"v": 1, "id": 42, "ts": _T0 + 80}],
    ),
    "robot-progress": (
        "sst/v1/robots/{serial}/progress",
        TypeAdapter(RobotProgressIn),
        [
            {"v": 1, "id": 42, "state": "running", "detail": "leaving the Kitchen", "ts": _T0},
            {
                "v": 1,
                "id": 42,
                "state": "failed",
                "detail": "path to the Bathroom is blocked",
                "ts": _T0 + 9000,
            },
            {
                "v": 1,
                "id": 43,
                "state": "succeeded",
                "detail": "arrived in the Bathroom",
                "text": {
                    "key": "robot.progress.arrived_in",
                    "params": {"room": "Bathroom", "room_kind": "bathroom"},
                },
                "ts": _T0 + 12000,
            },
        ],
    ),
    "robot-status": (
        "sst/v1/robots/{serial}/status",
        TypeAdapter(RobotStatusIn),
        [
            {
                "v": 1,
                "online": True,
                "state": "moving",
                "position": "Hall",
                "battery": 76,
                "ts": _T0,
            },
            {"v": 1, "online": False},
        ],
    ),
    "hub-video-down": (
        "sst/v1/hubs/{serial}/video/down",
        VIDEO_DOWN_ADAPTER,
        [
            {
                "v": 1,
                "type": "start",
                "session": _SESSION,
                "ice_servers": [
                    {
                        "urls": ["turn:turn.example.org:3478?transport=udp"],
                        "username": f"1767226260:{_SESSION}",
                        "credential": "q5ZkP2m0bq1f0h2n4J8cV9x7w6U=",
                    }
                ],
                "relay_only": True,
                "expires_at": _T0 + 600_000,
            },
            {"v": 1, "type": "offer", "session": _SESSION, "sdp": _SDP},
            {"v": 1, "type": "candidate", "session": _SESSION, "candidate": _CANDIDATE},
            {"v": 1, "type": "stop", "session": _SESSION, "reason": "hangup"},
            {"v": 1, "type": "offer", "session": _SESSION, "sdp": _SDP, "peer": "recorder"},
            {
                "v": 1,
                "type": "stop",
                "session": _SESSION,
                "reason": "recording failed",
                "peer": "recorder",
            },
        ],
    ),
    "hub-video-up": (
        "sst/v1/hubs/{serial}/video/up",
        VIDEO_UP_ADAPTER,
        [
            {"v": 1, "type": "answer", "session": _SESSION, "sdp": _SDP},
            {"v": 1, "type": "candidate", "session": _SESSION, "candidate": _CANDIDATE},
            {"v": 1, "type": "state", "session": _SESSION, "state": "connected"},
            {
                "v": 1,
                "type": "state",
                "session": _SESSION,
                "state": "ended",
                "reason": "connection failed",
            },
            {"v": 1, "type": "answer", "session": _SESSION, "sdp": _SDP, "peer": "recorder"},
        ],
    ),
}


def schemas() -> dict[str, dict[str, Any]]:
    """Every contract schema by file stem, as generated from the models."""
    out: dict[str, dict[str, Any]] = {}
    for name, (topic, adapter, examples) in CONTRACT.items():
        schema = adapter.json_schema()
        schema["$schema"] = SCHEMA_DIALECT
        schema["$id"] = f"https://sst.example/schemas/v1/{name}.schema.json"
        schema.setdefault("title", name)
        schema.setdefault("description", f"MQTT contract v1, topic `{topic}` (docs/mqtt.md).")
        schema["examples"] = examples
        out[name] = schema
    return out


def render(schema: dict[str, Any]) -> bytes:
    """A schema as the bytes of its file (stable key order, two-space indent)."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write(folder: Path) -> list[Path]:
    """Write every schema into `folder`; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_bytes(render(schema))
        paths.append(path)
    return paths


def main() -> None:
    """Regenerate docs/schemas (or the folder given as the first argument)."""
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    for path in write(folder):
        print(path)


if __name__ == "__main__":
    main()
