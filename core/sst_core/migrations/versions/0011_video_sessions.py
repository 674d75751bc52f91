"""emergency video sessions (who watched whom, on what grounds, how long)

Revision ID: 0011_video_sessions
Revises: 0010_live_events
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_video_sessions"
down_revision: str | None = "0010_live_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "video_sessions",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column(
            "resident_id",
            sa.Integer(),
            sa.ForeignKey("residents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hub_id", sa.Integer(), sa.ForeignKey("hubs.id", ondelete="SET NULL")),
        sa.Column("hub_serial", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), sa.ForeignKey("alerts.id", ondelete="SET NULL")),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("connect_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("end_reason", sa.String(length=64)),
        sa.Column("ended_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.CheckConstraint(
            "state IN ('requested', 'connected', 'ended')", name=op.f("ck_video_sessions_state")
        ),
        sa.CheckConstraint("basis IN ('alert', 'consent')", name=op.f("ck_video_sessions_basis")),
    )
    op.create_index("ix_video_sessions_resident_id", "video_sessions", ["resident_id"])
    op.create_index(
        "ix_video_sessions_active",
        "video_sessions",
        ["state"],
        postgresql_where=sa.text("state <> 'ended'"),
    )


def downgrade() -> None:
    op.drop_table("video_sessions")
