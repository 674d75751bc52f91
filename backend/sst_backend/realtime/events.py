"""Names of the live feed: the events it sends, who may receive them, and the client's actions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sst_core.const import ALERT_EVENT, VIDEO_STATE_EVENT

# Server -> client.
SENSOR_STATE_EVENT: Final = "sensor_state"
# The newest states of several residents at once, to a socket that began to follow them
# (realtime/newest_state.py): {event_id: null, states: [sensor_state payloads]}; not logged.
SENSOR_STATES_EVENT: Final = "sensor_states"
HUB_PRESENCE_EVENT: Final = "hub_presence"
ROBOT_STATUS_EVENT: Final = "robot_status"
ROBOT_COMMAND_EVENT: Final = "robot_command"
# A windowed rule's latest check of a resident changed (realtime/rule_checks.py): the check
# as GET /residents/{id}/rule-checks gives it, with resident_id and checked_at.
RULE_CHECK_EVENT: Final = "rule_check"
# The video work's session state (sst_core.const.VIDEO_STATE_EVENT, docs/video.md), logged
# and sent to staff only like every device event.
VIDEO_SESSION_EVENT: Final = VIDEO_STATE_EVENT
FEED_ERROR_EVENT: Final = "feed_error"  # a refused action or malformed message
CAUGHT_UP_EVENT: Final = "caught_up"  # the end of a catch-up after `resume`
ROOMS_EVENT: Final = "rooms"  # what the client follows, after connect, join and leave

# Client -> server.
JOIN_ACTION: Final = "join"
LEAVE_ACTION: Final = "leave"
RESUME_ACTION: Final = "resume"
ROBOT_COMMAND_ACTION: Final = "robot_command"

LOGGED_EVENTS: Final = frozenset(
    {
        ALERT_EVENT,
        SENSOR_STATE_EVENT,
        HUB_PRESENCE_EVENT,
        ROBOT_STATUS_EVENT,
        ROBOT_COMMAND_EVENT,
        RULE_CHECK_EVENT,
        VIDEO_SESSION_EVENT,
    }
)


class Audience(StrEnum):
    """Who may receive an event about a resident or home."""

    ALL = "all"  # everyone who may see the resident, guardians included (alerts, checks)
    STAFF = "staff"  # care staff and admins only (sensors, devices, robots, video)


@dataclass(frozen=True)
class Target:
    """Whom a live event concerns: a facility, and within it a resident and/or a home."""

    facility_id: int
    resident_id: int | None = None
    home_id: int | None = None
    audience: Audience = Audience.STAFF
