"""live-event log of the dashboard feed (event ids, catch-up after a reconnect)

Revision ID: 0010_live_events
Revises: 0009_model_registry
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_live_events"
down_revision: str | None = "0009_model_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=8), nullable=False),
        sa.Column(
            "facility_id",
            sa.Integer(),
            sa.ForeignKey("facilities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resident_id", sa.Integer(), sa.ForeignKey("residents.id", ondelete="CASCADE")),
        sa.Column("home_id", sa.Integer(), sa.ForeignKey("homes.id", ondelete="CASCADE")),
        sa.Column("coalesce_key", sa.String(length=64)),
        sa.Column("source", sa.String(length=96)),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint("audience IN ('all', 'staff')", name=op.f("ck_live_events_audience")),
    )
    op.create_index("ix_live_events_facility_id_id", "live_events", ["facility_id", "id"])
    op.create_index("ix_live_events_resident_id_id", "live_events", ["resident_id", "id"])
    op.create_index("ix_live_events_home_id_id", "live_events", ["home_id", "id"])
    op.create_index("ix_live_events_at", "live_events", ["at"])
    op.create_index("ix_live_events_coalesce_key_id", "live_events", ["coalesce_key", "id"])
    op.create_index("uq_live_events_source", "live_events", ["source"], unique=True)


def downgrade() -> None:
    op.drop_table("live_events")
