"""risk_scores: each resident's routine risk score per scoring round, for the dashboard

Revision ID: 0014_risk_scores
Revises: 0013_hub_heartbeat
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_risk_scores"
down_revision: str | None = "0013_hub_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_scores",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "resident_id",
            sa.Integer(),
            sa.ForeignKey("residents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Integer()),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_risk_scores_score")),
    )
    op.create_index(
        "ix_risk_scores_resident_id_at", "risk_scores", ["resident_id", sa.text("at DESC")]
    )
    op.create_index("ix_risk_scores_at", "risk_scores", ["at"])


def downgrade() -> None:
    op.drop_table("risk_scores")
