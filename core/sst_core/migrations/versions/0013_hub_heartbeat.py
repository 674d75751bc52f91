"""hubs: a heartbeat timeout of their own (None: the gateway's default)

Revision ID: 0013_hub_heartbeat
Revises: 0011_video_sessions
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_hub_heartbeat"
down_revision: str | None = "0011_video_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("hubs", sa.Column("heartbeat_timeout_s", sa.Integer(), nullable=True))
    op.create_check_constraint(
        "heartbeat_timeout_s",
        "hubs",
        "heartbeat_timeout_s IS NULL OR heartbeat_timeout_s BETWEEN 30 AND 86400",
    )


def downgrade() -> None:
    op.drop_constraint("ck_hubs_heartbeat_timeout_s", "hubs", type_="check")
    op.drop_column("hubs", "heartbeat_timeout_s")
