"""users.language, emergency_contacts.language: the language notifications are written in

Revision ID: 0017_notification_language
Revises: 0016_video_recordings
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_notification_language"
down_revision: str | None = "0016_video_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("users", "emergency_contacts")


def upgrade() -> None:
    # English until someone chooses: what every message said before this column existed.
    for table in _TABLES:
        op.add_column(
            table, sa.Column("language", sa.String(8), nullable=False, server_default="en")
        )
        op.create_check_constraint("language", table, "language IN ('en', 'ko')")


def downgrade() -> None:
    for table in _TABLES:
        op.drop_constraint(f"ck_{table}_language", table, type_="check")
        op.drop_column(table, "language")
