"""Keeping the routine risk scores for the dashboard: one insert per round, a retention."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.texts import Text

log = logging.getLogger("sst.inference.risk")

PRUNE_EVERY_S = 3600.0

# One statement for the whole round, however many residents were scored.
_INSERT = """
INSERT INTO risk_scores (resident_id, at, score, explanation, text, model_version)
SELECT * FROM unnest(CAST(:resident_ids AS integer[]), CAST(:ats AS timestamptz[]),
                     CAST(:scores AS smallint[]), CAST(:explanations AS text[]),
                     CAST(:texts AS jsonb[]), CAST(:versions AS integer[]))
"""
_PRUNE = "DELETE FROM risk_scores WHERE at < :before"


class Scored(Protocol):
    """What the store needs of a score (routine.ResidentScore)."""

    @property
    def resident_id(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def score(self) -> int | None: ...
    @property
    def explanation(self) -> str: ...
    @property
    def text(self) -> Text | None: ...
    @property
    def version(self) -> int | None: ...


class RiskStore:
    """Writes each round's scores and deletes those past the retention, at most hourly."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        retention: timedelta,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.retention = retention
        self.monotonic = monotonic
        self._next_prune = 0.0

    async def record(self, scores: Sequence[Scored], *, now: datetime) -> int:
        """Store the scores that have a value (skipped residents have none); return how many.

        A failure is logged and swallowed: keeping the score must never stop the scoring.
        """
        kept = [s for s in scores if s.score is not None]
        try:
            async with self.engine.begin() as conn:
                if kept:
                    await conn.execute(
                        text(_INSERT),
                        {
                            "resident_ids": [s.resident_id for s in kept],
                            "ats": [s.at for s in kept],
                            "scores": [s.score for s in kept],
                            "explanations": [s.explanation for s in kept],
                            "texts": [
                                s.text.model_dump_json() if s.text is not None else None
                                for s in kept
                            ],
                            "versions": [s.version for s in kept],
                        },
                    )
                if self.monotonic() >= self._next_prune:
                    gone = await conn.execute(text(_PRUNE), {"before": now - self.retention})
                    self._next_prune = self.monotonic() + PRUNE_EVERY_S
                    if gone.rowcount:
                        log.info(
                            "pruned %d risk scores older than %s", gone.rowcount, self.retention
                        )
        except Exception:
            log.exception("could not store %d risk scores; scoring goes on", len(kept))
            return 0
        return len(kept)
