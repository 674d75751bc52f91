"""From a rule's findings to alert actions, without flapping.

A rule raises with its own band (a limit to pass for RAISE, a clearly-over condition for
CLEAR, STAY in between: for temperatures the band is a degree); this module adds the hold:
a raised condition clears only after CLEAR was found for `clear_hold` without a break, and a
RAISE during the hold continues the same episode. One episode raises one alert, once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sst_ai_inference.findings import Finding, Verdict


class Action(StrEnum):
    """What the detector must do after a step."""

    NONE = "none"
    RAISE = "raise"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class RuleState:
    """A rule's state for one resident, as stored in detection_state."""

    active: bool = False
    raised_at: datetime | None = None  # the episode (when its limit was passed)
    clear_since: datetime | None = None


def step(
    state: RuleState, finding: Finding, at: datetime, clear_hold: timedelta
) -> tuple[RuleState, Action]:
    """The next state and the action for one finding at instant `at`."""
    verdict = finding.verdict
    if not state.active:
        if verdict == Verdict.RAISE:
            return RuleState(True, finding.episode_at or at, None), Action.RAISE
        return state, Action.NONE
    if verdict == Verdict.CLEAR:
        since = state.clear_since or at
        if at - since >= clear_hold:
            return RuleState(False, None, None), Action.RESOLVE
        return replace(state, clear_since=since), Action.NONE
    if verdict in (Verdict.RAISE, Verdict.STAY):
        return replace(state, clear_since=None), Action.NONE
    return state, Action.NONE  # UNKNOWN: no data decides nothing
