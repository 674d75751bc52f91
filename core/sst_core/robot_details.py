"""The details SST itself writes on robot commands, as server texts (keys "robot.*").

A command's `detail` column holds words: a robot's own (its progress reports, in whatever
language the robot speaks) or SST's (expiry, a command it could not send). SST's are
rendered from the catalog, so `detail_text` can give them back as key + params for the
dashboard to show in its language; a robot's words have no text and are shown as they are.
"""

from __future__ import annotations

from sst_core.texts import Text, english, phrase

EXPIRED_WAITING = phrase("robot.expired_waiting")
EXPIRED_UNFINISHED = phrase("robot.expired_unfinished")
_INVALID = english(phrase("robot.invalid_command", error=""))
_FIXED = {english(text): text for text in (EXPIRED_WAITING, EXPIRED_UNFINISHED)}


def invalid_command(error: str) -> Text:
    """The detail of a command SST refused to send; `error` is the validator's message."""
    return phrase("robot.invalid_command", error=error)


def detail_text(detail: str | None) -> Text | None:
    """The text of a detail SST wrote; None for a robot's own words (or no detail)."""
    if detail is None:
        return None
    if detail in _FIXED:
        return _FIXED[detail]
    if detail.startswith(_INVALID):
        return invalid_command(detail[len(_INVALID) :])
    return None
