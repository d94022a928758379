"""The pipeline's tables: detector checkpoints and the event log; anomalies say if they last.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "detector_checkpoints",
        sa.Column(
            "detector_id",
            sa.String(length=63),
            sa.ForeignKey("detectors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("last_time", sa.BigInteger(), nullable=False),
        sa.Column("series", sa.JSON(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("open_anomalies", sa.JSON(), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("detector_id", sa.String(length=63), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_events_time", "events", ["time"])
    op.create_index("ix_events_detector_id", "events", ["detector_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("detector_checkpoints")
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("active")
