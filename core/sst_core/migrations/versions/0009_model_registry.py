"""registry of routine model versions (per resident, or the population prior)

Revision ID: 0009_model_registry
Revises: 0008_detection_state
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_model_registry"
down_revision: str | None = "0008_detection_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routine_models",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("feature_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("artifact_key", sa.Text(), nullable=False),
        sa.Column("data_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("library_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('candidate', 'promoted', 'retired')", name=op.f("ck_routine_models_state")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_routine_models_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routine_models")),
    )
    # resident_id NULL is the population prior; COALESCE makes it one key like the others.
    op.create_index(
        "uq_routine_models_version",
        "routine_models",
        [sa.text("COALESCE(resident_id, 0)"), "version"],
        unique=True,
    )
    op.create_index(
        "uq_routine_models_promoted",
        "routine_models",
        [sa.text("COALESCE(resident_id, 0)")],
        unique=True,
        postgresql_where=sa.text("state = 'promoted'"),
    )


def downgrade() -> None:
    op.drop_index("uq_routine_models_promoted", table_name="routine_models")
    op.drop_index("uq_routine_models_version", table_name="routine_models")
    op.drop_table("routine_models")
