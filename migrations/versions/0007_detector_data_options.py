"""Add the detectors' evaluation delay, backfill length and absence policy, and anomaly kinds.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing detectors keep the server's settings and skip missing points, as before.
    with op.batch_alter_table("detectors") as batch:
        batch.add_column(sa.Column("evaluation_delay_seconds", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("backfill_points", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("absence_policy", sa.String(32), nullable=False, server_default="POLICY_SKIP")
        )
        batch.add_column(
            sa.Column("absence_steps", sa.Integer(), nullable=False, server_default="0")
        )
    # Every anomaly so far is of scored values.
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(32), nullable=False, server_default="KIND_DEVIATION")
        )


def downgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("detectors") as batch:
        for column in ("absence_steps", "absence_policy", "backfill_points"):
            batch.drop_column(column)
        batch.drop_column("evaluation_delay_seconds")
