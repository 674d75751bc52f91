"""Announcements that must leave only after the request's transaction committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "sst_after_commit"

AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run `action` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_KEY, []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """Run and forget what was queued with `after_commit`."""
    actions: list[AfterCommit] = session.info.pop(_KEY, [])
    for action in actions:
        await action()


def discard_after_commit(session: AsyncSession) -> None:
    """Forget queued actions of a rolled-back transaction."""
    session.info.pop(_KEY, None)
