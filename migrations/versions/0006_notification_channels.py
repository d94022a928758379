"""Add notification channels (Alertmanagers, webhooks) and what each was told.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("min_severity", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "notified_anomalies",
        sa.Column("channel_id", sa.String(length=63), nullable=False),
        sa.Column("anomaly_id", sa.String(length=63), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("alert", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["notification_channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("channel_id", "anomaly_id"),
    )


def downgrade() -> None:
    op.drop_table("notified_anomalies")
    op.drop_table("notification_channels")
