"""Vocabulary of the care domain shared by every service."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person logging in may do."""

    ADMIN = "admin"
    STAFF = "staff"
    GUARDIAN = "guardian"


class SensorKind(StrEnum):
    """Kinds of passive sensor a hub reports for."""

    MOTION = "motion"
    DOOR = "door"
    BED = "bed"
    CHAIR = "chair"
    TOILET = "toilet"
    POWER = "power"
    TEMPERATURE = "temperature"
    SMOKE = "smoke"
    EMERGENCY_BUTTON = "emergency_button"
    FALL_DETECTOR = "fall_detector"


# Sensors whose single reading may be an emergency: the gateway puts their readings on the
# urgent stream as well as the readings stream, and inference's instant rules watch them.
URGENT_SENSOR_KINDS: frozenset[str] = frozenset(
    {SensorKind.FALL_DETECTOR, SensorKind.EMERGENCY_BUTTON, SensorKind.SMOKE}
)


class RoomKind(StrEnum):
    """What a room is used for; routine features are computed per kind."""

    BEDROOM = "bedroom"
    BATHROOM = "bathroom"
    KITCHEN = "kitchen"
    LIVING = "living"
    HALL = "hall"
    ENTRANCE = "entrance"


class Severity(StrEnum):
    """How urgently an alert needs a person."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlertState(StrEnum):
    """Where an alert is in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertKind(StrEnum):
    """What an alert is about; one open alert per resident and kind."""

    FALL = "fall"
    EMERGENCY_BUTTON = "emergency_button"
    SMOKE = "smoke"
    HUB_OFFLINE = "hub_offline"  # the home's hub stopped reporting: nothing is watching
    LOW_BATTERY = "low_battery"  # a sensor's battery needs replacing soon
    # Windowed rules (ai_inference/windowed.py): a condition that lasted too long.
    INACTIVITY = "inactivity"
    LONG_BATHROOM_STAY = "long_bathroom_stay"
    NIGHT_EXIT = "night_exit"
    NO_WAKE_UP = "no_wake_up"
    LOW_TEMPERATURE = "low_temperature"
    HIGH_TEMPERATURE = "high_temperature"
    SENSOR_SILENT = "sensor_silent"  # a sensor that reports on a schedule stopped
    ROUTINE_DEVIATION = "routine_deviation"  # today differs from the resident's routine
    GRADUAL_DECLINE = "gradual_decline"  # the days have been drifting the worrying way


class RobotCommandState(StrEnum):
    """Lifecycle of a command sent to a safety-check robot."""

    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


class RobotCommandName(StrEnum):
    """What staff can ask a safety-check robot to do."""

    MOVE_TO = "move_to"
    CHECK_ON_RESIDENT = "check_on_resident"
    SPEAK = "speak"
    RETURN_TO_DOCK = "return_to_dock"
    STOP = "stop"


class VideoSessionState(StrEnum):
    """Where an emergency video session is: asked for, media flowing, over."""

    REQUESTED = "requested"
    CONNECTED = "connected"
    ENDED = "ended"


class RecordingState(StrEnum):
    """Where the recording of a video session is: being made, in object storage, or lost."""

    RECORDING = "recording"
    STORED = "stored"
    FAILED = "failed"


class VideoBasis(StrEnum):
    """Why staff may look into a resident's home: an open emergency, or recorded consent."""

    ALERT = "alert"
    CONSENT = "consent"


# Alert kinds that are emergencies: an open one lets assigned staff look into the home.
EMERGENCY_ALERT_KINDS = frozenset({AlertKind.FALL, AlertKind.EMERGENCY_BUTTON, AlertKind.SMOKE})


def check_in(column: str, values: type[StrEnum]) -> str:
    """SQL CHECK text limiting a text column to an enum's values."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


class Language(StrEnum):
    """A language people get their messages in (sst_core.localized has the catalogs)."""

    EN = "en"
    KO = "ko"


LANGUAGE_CHECK = check_in("language", Language)
