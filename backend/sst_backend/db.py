"""The request's database session: committed once at the end, rolled back on error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.announce import discard_after_commit, run_after_commit


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session that commits when the endpoint returned without error."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_after_commit(session)
            raise
        await run_after_commit(session)


# "function" scope: the commit happens before the response leaves, so a client never
# sees a success that was later rolled back.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
