"""The details of robot commands as server texts (keys "robot.*").

A command's `detail` column holds words: a robot's own (its progress reports) or SST's
(expiry, a command it could not send). A robot may also send its detail as a key of SST's
catalog with raw params (`text` in its progress, keys "robot.progress.*": docs/mqtt.md); SST
keeps that text next to the words (`detail_text`). SST's own details are rendered from the
catalog, so `detail_text` can give them back as key + params too; a robot's words without a
text are shown as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from sst_core.localized import LANGUAGES, render
from sst_core.texts import Text, TextError, english, phrase

log = logging.getLogger("sst.robots")

EXPIRED_WAITING = phrase("robot.expired_waiting")
EXPIRED_UNFINISHED = phrase("robot.expired_unfinished")
_INVALID = english(phrase("robot.invalid_command", error=""))
_FIXED = {english(text): text for text in (EXPIRED_WAITING, EXPIRED_UNFINISHED)}
PROGRESS_PREFIX = "robot.progress."
_INVALID_KEY = "robot.invalid_command"
DETAIL_MAX = 500  # characters of a progress detail (the contract's bound)


def invalid_command(error: str) -> Text:
    """The detail of a command SST refused to send; `error` is the validator's message."""
    return phrase("robot.invalid_command", error=error)


def progress_text(text: Text | None) -> Text | None:
    """A robot's progress text that SST can show in every language, else None.

    Only keys "robot.progress.*" and "robot.invalid_command" (a robot names no alert or
    notification), with every param their templates use, and words within the detail's bound.
    """
    if text is None or not (text.key.startswith(PROGRESS_PREFIX) or text.key == _INVALID_KEY):
        return None
    try:
        words = [render(text, language) for language in LANGUAGES]
    except (TextError, TypeError, ValueError):
        return None
    return text if all(len(w) <= DETAIL_MAX for w in words) else None


def detail_text(detail: str | None, stored: Mapping[str, Any] | Text | None = None) -> Text | None:
    """The text of a command's detail: the robot's (`stored`), or one SST wrote; else None."""
    if stored is not None:
        try:
            text = stored if isinstance(stored, Text) else Text.model_validate(stored)
        except ValidationError:
            log.warning("a robot command's stored detail text is not a text: %r", stored)
        else:
            if progress_text(text) is not None:
                return text
    if detail is None:
        return None
    if detail in _FIXED:
        return _FIXED[detail]
    if detail.startswith(_INVALID):
        return invalid_command(detail[len(_INVALID) :])
    return None
