"""hourly rollups of readings (continuous aggregate or platform-kept) and rule thresholds

Revision ID: 0007_rollups
Revises: 0006_alerting
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sst_core.db import rollups, timeseries

revision: str = "0007_rollups"
down_revision: str | None = "0006_alerting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    # The rollups follow the layout `readings` was built with (the same capability probe).
    layout = timeseries.current_layout(connection) or timeseries.probe(connection)
    rollups.create(connection, layout)
    op.create_table(
        "resident_rule_thresholds",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_resident_rule_thresholds_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_resident_rule_thresholds_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("resident_id", "rule", name=op.f("pk_resident_rule_thresholds")),
    )


def downgrade() -> None:
    op.drop_table("resident_rule_thresholds")
    rollups.drop(op.get_bind())
