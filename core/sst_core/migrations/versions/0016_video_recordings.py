"""video recordings: consent and facility flags, and the recordings of emergency sessions

Revision ID: 0016_video_recordings
Revises: 0015_structured_texts
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_video_recordings"
down_revision: str | None = "0015_structured_texts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    false = sa.text("false")
    op.add_column(
        "facilities",
        sa.Column("video_recording", sa.Boolean(), nullable=False, server_default=false),
    )
    op.add_column(
        "residents",
        sa.Column("video_recording_consent", sa.Boolean(), nullable=False, server_default=false),
    )
    op.add_column(
        "video_sessions",
        sa.Column("recorded", sa.Boolean(), nullable=False, server_default=false),
    )
    op.create_table(
        "video_recordings",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("video_sessions.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column(
            "resident_id",
            sa.Integer(),
            sa.ForeignKey("residents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("object_key", sa.String(300)),
        sa.Column("content_type", sa.String(64)),
        sa.Column("size_bytes", sa.BigInteger()),
        sa.Column("duration_s", sa.Float()),
        sa.Column("frames", sa.Integer()),
        sa.Column("error", sa.String(300)),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("stored_at", sa.DateTime(timezone=True)),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('recording', 'stored', 'failed')", name=op.f("ck_video_recordings_state")
        ),
    )
    op.create_index(
        "ix_video_recordings_resident_id_started_at",
        "video_recordings",
        ["resident_id", sa.text("started_at DESC")],
    )
    op.create_index("ix_video_recordings_delete_after", "video_recordings", ["delete_after"])


def downgrade() -> None:
    op.drop_table("video_recordings")
    op.drop_column("video_sessions", "recorded")
    op.drop_column("residents", "video_recording_consent")
    op.drop_column("facilities", "video_recording")
