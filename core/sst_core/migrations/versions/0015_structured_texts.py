"""alerts.text, risk_scores.text: server texts as message key + raw params, for any language

Revision ID: 0015_structured_texts
Revises: 0014_risk_scores
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_structured_texts"
down_revision: str | None = "0014_risk_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: rows written before this have only their English words, which readers show.
    op.add_column("alerts", sa.Column("text", postgresql.JSONB(), nullable=True))
    op.add_column("risk_scores", sa.Column("text", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("risk_scores", "text")
    op.drop_column("alerts", "text")
