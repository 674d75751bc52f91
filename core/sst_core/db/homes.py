"""Homes and the devices in them: rooms, hubs, sensors, robots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base
from sst_core.domain import RoomKind, SensorKind, check_in


class Home(Base):
    """Where a resident lives; its time zone drives every routine feature."""

    __tablename__ = "homes"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))


class Room(Base):
    """A room of a home."""

    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint(check_in("kind", RoomKind), name="kind"),
        UniqueConstraint("home_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))


class Hub(Base):
    """The IoT hub of a home; its serial names its MQTT subtree."""

    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    firmware: Mapped[str | None] = mapped_column(String(64))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Silence after which the gateway counts the hub offline; None: its default
    # (SST_HUB_HEARTBEAT_TIMEOUT_S). A hub on a slow or metered link gets a longer one.
    heartbeat_timeout_s: Mapped[int | None] = mapped_column(
        Integer,
        CheckConstraint(
            "heartbeat_timeout_s IS NULL OR heartbeat_timeout_s BETWEEN 30 AND 86400",
            name="heartbeat_timeout_s",
        ),
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Its broker login (user name = serial); the password itself is kept nowhere in SST.
    credentials_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credentials_revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Sensor(Base):
    """A passive sensor reporting through a hub; `key` is the hub's own name for it."""

    __tablename__ = "sensors"
    __table_args__ = (
        CheckConstraint(check_in("kind", SensorKind), name="kind"),
        UniqueConstraint("hub_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    battery_pct: Mapped[float | None]


class Robot(Base):
    """A safety-check robot in a home."""

    __tablename__ = "robots"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str] = mapped_column(String(100), default="reference")
    capabilities: Mapped[list[str]] = mapped_column(JSONB, default=list)
    state: Mapped[str | None] = mapped_column(String(32))
    battery_pct: Mapped[float | None]
    position: Mapped[str | None] = mapped_column(String(100))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credentials_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credentials_revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
