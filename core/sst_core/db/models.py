"""Every table of SST, importable from one place."""

from sst_core.db.accounts import RefreshToken
from sst_core.db.alerting import (
    AlertEscalation,
    DailySummaryRun,
    EmergencyContact,
    EscalationPolicy,
    NotificationDelivery,
    NotificationPreference,
    StaffDuty,
)
from sst_core.db.base import Base
from sst_core.db.detection import DetectionSchedule, DetectionState
from sst_core.db.events import (
    Alert,
    AlertEvent,
    AuditEntry,
    DeadLetter,
    Reading,
    RobotCommand,
)
from sst_core.db.homes import Home, Hub, Robot, Room, Sensor
from sst_core.db.live import LiveEvent
from sst_core.db.people import Facility, GuardianLink, Resident, StaffAssignment, User
from sst_core.db.risk_scores import RiskScore
from sst_core.db.routine_models import RoutineModelVersion
from sst_core.db.thresholds import RuleThreshold
from sst_core.db.video import VideoRecording, VideoSession

__all__ = [
    "Alert",
    "AlertEscalation",
    "AlertEvent",
    "AuditEntry",
    "Base",
    "DailySummaryRun",
    "DeadLetter",
    "DetectionSchedule",
    "DetectionState",
    "EmergencyContact",
    "EscalationPolicy",
    "Facility",
    "GuardianLink",
    "Home",
    "Hub",
    "LiveEvent",
    "NotificationDelivery",
    "NotificationPreference",
    "Reading",
    "RefreshToken",
    "Resident",
    "RiskScore",
    "Robot",
    "RobotCommand",
    "Room",
    "RoutineModelVersion",
    "RuleThreshold",
    "Sensor",
    "StaffAssignment",
    "StaffDuty",
    "User",
    "VideoRecording",
    "VideoSession",
]
