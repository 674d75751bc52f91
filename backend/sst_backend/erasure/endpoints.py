"""DELETE /residents/{id}: a right-to-erasure request, answered with what was done."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from sst_backend.auth.dependencies import AdminUser
from sst_backend.care_access import CHANGE_ERRORS
from sst_backend.db import Session
from sst_backend.erasure import service
from sst_backend.erasure.schemas import ErasureReport
from sst_backend.errors import ErrorResponse
from sst_core.objects import open_store

router = APIRouter(tags=["residents"])


_ERASURE_ERRORS: dict[int | str, dict[str, object]] = {
    **CHANGE_ERRORS,
    503: {
        "model": ErrorResponse,
        "description": "Object storage could not delete the resident's models; nothing was erased.",
    },
}


@router.delete("/residents/{resident_id}", response_model=ErasureReport, responses=_ERASURE_ERRORS)
async def erase_resident(
    resident_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="Resident id.")],
    user: AdminUser,
    session: Session,
    request: Request,
) -> ErasureReport:
    """Erase a resident: profile, home, devices, readings, alerts and links (admins).

    The audit log is kept (it is append-only evidence) and records the erasure.
    """
    state = request.app.state
    return await service.erase_resident(
        session,
        state.redis,
        state.engine,
        user=user,
        resident_id=resident_id,
        store=open_store(state.settings),
    )
