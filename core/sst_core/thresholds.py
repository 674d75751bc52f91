"""Per-resident thresholds of the windowed rules: names, parameters, ranges and defaults.

The backend stores overrides (rule name -> JSON params) in `resident_rule_thresholds`;
inference reads them and merges them over these defaults. A parameter outside its range
is refused when it is written, so a reader can trust what it finds.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

log = logging.getLogger("sst.thresholds")


class RuleName(StrEnum):
    """Rules whose thresholds can be tuned per resident."""

    INACTIVITY = "inactivity"
    LONG_BATHROOM_STAY = "long_bathroom_stay"
    NIGHT_EXIT = "night_exit"
    NO_WAKE_UP = "no_wake_up"
    LOW_TEMPERATURE = "low_temperature"
    HIGH_TEMPERATURE = "high_temperature"
    SENSOR_SILENT = "sensor_silent"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InactivityParams(_Params):
    """No movement anywhere at home for this long during waking hours (local time)."""

    max_hours_without_motion: float = Field(default=3.0, ge=0.5, le=24)
    waking_from_hour: float = Field(default=8.0, ge=4, le=14)
    waking_until_hour: float = Field(default=21.0, ge=12, le=24)

    @model_validator(mode="after")
    def _day_is_long_enough(self) -> Self:
        if self.waking_until_hour - self.waking_from_hour < self.max_hours_without_motion:
            raise ValueError("waking hours must be at least as long as max_hours_without_motion")
        return self


class LongBathroomStayParams(_Params):
    """Motion in the bathroom and nowhere else for this long."""

    max_minutes: int = Field(default=45, ge=5, le=240)


class NightExitParams(_Params):
    """The front door opens at night (local hours) and the resident is not back in time."""

    night_start_hour: int = Field(default=22, ge=0, le=23)
    night_end_hour: int = Field(default=6, ge=0, le=23)
    back_within_minutes: int = Field(default=20, ge=5, le=240)

    @model_validator(mode="after")
    def _night_is_not_empty(self) -> Self:
        if self.night_start_hour == self.night_end_hour:
            raise ValueError("night_start_hour and night_end_hour must differ")
        return self


class NoWakeUpParams(_Params):
    """Not up (no movement outside the bedroom) by the usual wake time plus a margin."""

    # The resident's usual wake time (local) until a learned one replaces it (part B).
    wake_hour: float = Field(default=7.5, ge=4, le=12)
    margin_minutes: int = Field(default=120, ge=15, le=360)


class LowTemperatureParams(_Params):
    """A room stays colder than this (degrees Celsius) for this long."""

    min_celsius: float = Field(default=16.0, ge=5, le=25)
    for_minutes: int = Field(default=60, ge=10, le=720)


class HighTemperatureParams(_Params):
    """A room stays hotter than this (degrees Celsius) for this long."""

    max_celsius: float = Field(default=30.0, ge=22, le=40)
    for_minutes: int = Field(default=60, ge=10, le=720)


class SensorSilentParams(_Params):
    """A sensor that reports on a schedule (thermometer, bed) sends nothing for this long."""

    max_silent_hours: float = Field(default=2.0, ge=0.5, le=48)


RULE_PARAMS: dict[RuleName, type[_Params]] = {
    RuleName.INACTIVITY: InactivityParams,
    RuleName.LONG_BATHROOM_STAY: LongBathroomStayParams,
    RuleName.NIGHT_EXIT: NightExitParams,
    RuleName.NO_WAKE_UP: NoWakeUpParams,
    RuleName.LOW_TEMPERATURE: LowTemperatureParams,
    RuleName.HIGH_TEMPERATURE: HighTemperatureParams,
    RuleName.SENSOR_SILENT: SensorSilentParams,
}


class InvalidThreshold(ValueError):
    """Parameters that do not fit the rule; `problems` says which and why."""

    def __init__(self, rule: str, problems: list[dict[str, str]]) -> None:
        super().__init__(f"invalid parameters for rule {rule}")
        self.rule, self.problems = rule, problems


def validate_params(rule: RuleName, params: dict[str, Any]) -> dict[str, Any]:
    """The override as stored: only the given keys, each checked against its range."""
    model = RULE_PARAMS[rule]
    try:
        checked = model.model_validate(params)
    except ValidationError as exc:
        problems = [
            {"where": ".".join(str(p) for p in e["loc"]) or rule, "problem": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidThreshold(rule, problems) from exc
    return checked.model_dump(include=set(params))


def effective_params(
    rule: RuleName, override: dict[str, Any] | None, *, resident_id: int | None = None
) -> dict[str, Any]:
    """Defaults with a stored override on top; what is not valid is ignored, with a log line.

    A row may predate a range or a parameter (written by an older version, or by hand):
    an unknown key or a value out of range falls back to the default, one key at a time,
    and if the values left do not fit together the whole rule uses its defaults.
    """
    model = RULE_PARAMS[rule]
    kept: dict[str, Any] = {}
    for key, value in (override or {}).items():
        if key not in model.model_fields:
            log.warning(
                "resident %s: unknown %s parameter %r ignored", resident_id, rule.value, key
            )
            continue
        try:
            model.model_validate({key: value})
        except ValidationError:
            log.warning(
                "resident %s: invalid %s.%s = %r ignored; using the default",
                resident_id,
                rule.value,
                key,
                value,
            )
            continue
        kept[key] = value
    try:
        return model.model_validate(kept).model_dump()
    except ValidationError as exc:
        log.warning(
            "resident %s: %s override %r does not fit together (%s); using the defaults",
            resident_id,
            rule.value,
            kept,
            exc.errors()[0]["msg"],
        )
        return model().model_dump()


def describe(rule: RuleName) -> str:
    """One line on what the rule watches for."""
    return (RULE_PARAMS[rule].__doc__ or rule.value).strip()
