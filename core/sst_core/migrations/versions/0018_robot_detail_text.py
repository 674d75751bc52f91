"""robot_commands.detail_text: a robot's progress detail as message key + raw params

Revision ID: 0018_robot_detail_text
Revises: 0017_notification_language
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_robot_detail_text"
down_revision: str | None = "0017_notification_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for every older row and for robots that send words only: `detail` is shown as is.
    op.add_column("robot_commands", sa.Column("detail_text", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("robot_commands", "detail_text")
