"""Robot contract (`sst/v1/robots/{serial}/...`) and the robot streams' entries.

Commands go down on `commands` (QoS 1); a robot answers on `acks`, `progress` and
`status` (retained, with an offline last will). The models are the executable form of
docs/mqtt.md; JSON Schemas under docs/schemas/ are generated from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sst_core.domain import RobotCommandName, RobotCommandState
from sst_core.messages import CONTRACT_VERSION, BatteryPct, StreamFields
from sst_core.texts import Text

RoomName = Annotated[str, Field(min_length=1, max_length=100)]
Detail = Annotated[str, Field(max_length=500)]
CommandId = Annotated[
    int, Field(ge=1, le=2**63 - 1, description="The command's id in SST (robot_commands.id).")
]
Version = Annotated[int, Field(ge=1, le=CONTRACT_VERSION)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- commands, down ----------------------------------------------------------------------


class MoveToArgs(_Strict):
    """Go to a room of the home (by its name in SST)."""

    room: RoomName


class CheckOnResidentArgs(_Strict):
    """Find the resident (in `room` if given) and get the camera ready."""

    room: RoomName | None = None


class SpeakArgs(_Strict):
    """Say a message aloud, where the robot is."""

    text: str = Field(min_length=1, max_length=500)


class NoArgs(_Strict):
    """A command without arguments."""


class StopArgs(_Strict):
    """Stop `command_id` (or whatever is running when absent) and stay where you are."""

    command_id: CommandId | None = None


class _Command(_Strict):
    v: Version = CONTRACT_VERSION
    id: CommandId
    expires_at: int = Field(
        ge=0, description="Epoch ms: do not start after it; stop and report failed at it."
    )


class MoveTo(_Command):
    """`move_to`: go to a room."""

    command: Literal[RobotCommandName.MOVE_TO]
    args: MoveToArgs


class CheckOnResident(_Command):
    """`check_on_resident`: find the resident and get the camera ready."""

    command: Literal[RobotCommandName.CHECK_ON_RESIDENT]
    args: CheckOnResidentArgs = Field(default_factory=CheckOnResidentArgs)


class Speak(_Command):
    """`speak`: say a message aloud."""

    command: Literal[RobotCommandName.SPEAK]
    args: SpeakArgs


class ReturnToDock(_Command):
    """`return_to_dock`: go back to the charger."""

    command: Literal[RobotCommandName.RETURN_TO_DOCK]
    args: NoArgs = Field(default_factory=NoArgs)


class Stop(_Command):
    """`stop`: abandon the running command at once (accepted at any time)."""

    command: Literal[RobotCommandName.STOP]
    args: StopArgs = Field(default_factory=StopArgs)


RobotCommandOut = Annotated[
    MoveTo | CheckOnResident | Speak | ReturnToDock | Stop, Field(discriminator="command")
]
COMMAND_ADAPTER: TypeAdapter[RobotCommandOut] = TypeAdapter(RobotCommandOut)


def command_payload(
    command_id: int, command: str, args: Mapping[str, Any], expires_at_ms: int
) -> bytes:
    """The JSON of a command message; raises pydantic.ValidationError when it is not valid."""
    body = {"v": CONTRACT_VERSION, "id": command_id, "command": command, "args": dict(args)}
    body["expires_at"] = expires_at_ms
    return COMMAND_ADAPTER.dump_json(COMMAND_ADAPTER.validate_python(body), exclude_none=True)


# -- acks, progress and status, up -------------------------------------------------------


class RobotAckIn(_Strict):
    """`sst/v1/robots/{robot}/acks`: the robot received a command (sent for every copy)."""

    v: Version = CONTRACT_VERSION
    id: CommandId
    ts: int = Field(ge=0, description="Robot time, epoch ms.")


class ProgressState(StrEnum):
    """What a robot reports about a command it works on."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ProgressText(_Strict):
    """A robot's progress detail as a key of SST's catalog (robot.progress.*) with raw params
    (names, numbers: a robot's details nest no texts)."""

    key: str = Field(max_length=64, examples=["robot.progress.arrived_in"])
    params: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    def as_text(self) -> Text:
        """The server text these words are."""
        return Text(key=self.key, params=dict(self.params))


class RobotProgressIn(_Strict):
    """`sst/v1/robots/{robot}/progress`: a command started, finished or failed."""

    v: Version = CONTRACT_VERSION
    id: CommandId
    state: ProgressState
    detail: Detail | None = None
    # `detail` stays the robot's words for whoever cannot read the text.
    text: ProgressText | None = Field(
        default=None,
        description="The detail as a key of SST's catalog (robot.progress.*) with raw params, "
        "so that staff read it in their language.",
    )
    ts: int = Field(ge=0)


class RobotState(StrEnum):
    """What a robot is doing, as it reports it."""

    DOCKED = "docked"
    CHARGING = "charging"
    IDLE = "idle"
    MOVING = "moving"
    BUSY = "busy"  # speaking, looking for the resident
    ERROR = "error"


OFFLINE = "offline"  # robots.state when its status (or last will) says online=false


class RobotStatusIn(_Strict):
    """`sst/v1/robots/{robot}/status`: presence, state, position, battery (retained)."""

    v: Version = CONTRACT_VERSION
    online: bool
    state: RobotState | None = None
    position: RoomName | None = None
    battery: BatteryPct | None = None
    firmware: str | None = Field(default=None, max_length=64)
    ts: int | None = Field(default=None, ge=0)


# -- Redis streams ---------------------------------------------------------------------


def encode_command_entry(command_id: int) -> StreamFields:
    """Fields of a robot-commands stream entry: only the id (the row holds the rest)."""
    return {"id": str(command_id).encode()}


def decode_command_entry(fields: Mapping[Any, Any]) -> int:
    """Inverse of `encode_command_entry`."""
    return int(fields[b"id"])


class RobotCommandEvent(BaseModel):
    """A command's lifecycle changed (robot-events stream)."""

    type: Literal["command"] = "command"
    command_id: int
    robot_id: int
    robot_serial: str
    command: str
    state: RobotCommandState
    attempts: int
    detail: str | None = None
    detail_text: Text | None = None  # the robot's detail as key + params, when it sent one
    at: datetime


class RobotStatusEvent(BaseModel):
    """A robot's presence, state, position or battery changed (robot-events stream)."""

    type: Literal["status"] = "status"
    robot_id: int
    robot_serial: str
    state: str  # a RobotState, or "offline"
    position: str | None = None
    battery_pct: float | None = None
    at: datetime


RobotEvent = Annotated[RobotCommandEvent | RobotStatusEvent, Field(discriminator="type")]
_EVENT_ADAPTER: TypeAdapter[RobotEvent] = TypeAdapter(RobotEvent)


def encode_robot_event(event: RobotCommandEvent | RobotStatusEvent) -> StreamFields:
    """Fields of one robot-events stream entry."""
    return {"event": event.model_dump_json().encode()}


def decode_robot_event(fields: Mapping[Any, Any]) -> RobotCommandEvent | RobotStatusEvent:
    """Inverse of `encode_robot_event`."""
    return _EVENT_ADAPTER.validate_json(fields[b"event"])
