"""Bodies of the robot-command endpoints and Socket.IO action."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sst_backend.fields import Body, Id
from sst_core.domain import RobotCommandName, RobotCommandState
from sst_core.robot_messages import CheckOnResidentArgs, MoveToArgs, NoArgs, SpeakArgs, StopArgs
from sst_core.texts import Text

ExpiresIn = Annotated[
    int,
    Field(ge=5, le=3600, description="Seconds the command may wait and run before it expires."),
]


_ARGS: dict[RobotCommandName, type[BaseModel]] = {
    RobotCommandName.MOVE_TO: MoveToArgs,
    RobotCommandName.CHECK_ON_RESIDENT: CheckOnResidentArgs,
    RobotCommandName.SPEAK: SpeakArgs,
    RobotCommandName.RETURN_TO_DOCK: NoArgs,
    RobotCommandName.STOP: StopArgs,
}


class RobotCommandCreate(Body):
    """A command for a robot; `args` depend on it (docs/mqtt.md, "Robots").

    move_to {room} | check_on_resident {room?} | speak {text} | return_to_dock {} |
    stop {command_id?} (stop is always allowed, whatever the robot's capabilities).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"command": "move_to", "args": {"room": "Bathroom"}}]},
    )

    command: RobotCommandName
    args: dict[str, Any] = Field(default_factory=dict)
    expires_in_s: ExpiresIn = 120

    @model_validator(mode="after")
    def _args_fit_the_command(self) -> RobotCommandCreate:
        model = _ARGS[self.command]
        try:
            self.args = model.model_validate(self.args).model_dump(exclude_none=True)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in ("args", *first["loc"]))
            raise ValueError(f"{where} of {self.command.value}: {first['msg']}") from None
        return self


class RobotCommandAction(BaseModel):
    """The Socket.IO `robot_command` action: a robot id and a command body."""

    robot_id: Id
    body: dict[str, Any]


class RobotCommandOut(BaseModel):
    """A command and where it is in its lifecycle."""

    id: int
    robot_id: int
    command: RobotCommandName
    args: dict[str, Any]
    state: RobotCommandState
    attempts: int
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    detail: str | None
    detail_text: Text | None = Field(
        default=None,
        description="The detail as a message key and raw params: the robot's progress text "
        "(robot.progress.*) or SST's own words (expiry, a command it could not send); null "
        "for a robot's words sent without a text.",
    )
