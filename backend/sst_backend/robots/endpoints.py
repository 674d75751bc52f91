"""Robot commands: move to a room, check on the resident, speak, return to dock, stop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from sst_backend.auth.dependencies import StaffUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, ErrorResponse
from sst_backend.path_ids import RobotId
from sst_backend.robots import service
from sst_backend.robots.schemas import RobotCommandCreate, RobotCommandOut

router = APIRouter(tags=["robots"])

CommandId = Annotated[int, Path(description="Command id.", ge=1, le=2**63 - 1)]
_ERRORS: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorResponse, "description": "Guardians cannot command robots."},
    422: {"model": ErrorResponse, "description": "Not a command this robot and home allow."},
}


@router.post(
    "/robots/{robot_id}/commands",
    response_model=RobotCommandOut,
    status_code=202,
    responses=_ERRORS,
)
async def create_command(
    robot_id: RobotId, body: RobotCommandCreate, user: StaffUser, session: Session, request: Request
) -> RobotCommandOut:
    """Queue a command for a robot of a home you care for; progress arrives on the live feed."""
    state = request.app.state
    return await service.create_command(
        session,
        user=user,
        robot_id=robot_id,
        body=body,
        redis=state.redis,
        feed=getattr(state, "feed", None),
    )


@router.get("/robots/{robot_id}/commands", response_model=list[RobotCommandOut], responses=_ERRORS)
async def list_commands(
    robot_id: RobotId,
    user: StaffUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RobotCommandOut]:
    """The robot's newest commands, newest first."""
    return await service.list_commands(session, user=user, robot_id=robot_id, limit=limit)


@router.get(
    "/robots/{robot_id}/commands/{command_id}", response_model=RobotCommandOut, responses=_ERRORS
)
async def get_command(
    robot_id: RobotId, command_id: CommandId, user: StaffUser, session: Session
) -> RobotCommandOut:
    """One command and its state."""
    return await service.get_command(session, user=user, robot_id=robot_id, command_id=command_id)
