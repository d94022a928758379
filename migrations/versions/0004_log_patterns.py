"""Log-pattern detectors: their templates in the checkpoint, the source they run on, and the
template an anomaly is about.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detectors") as batch:
        batch.add_column(
            sa.Column("log_source", sa.String(length=32), nullable=False, server_default="")
        )
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(sa.Column("log_pattern", sa.JSON(), nullable=True))
    with op.batch_alter_table("detector_checkpoints") as batch:
        batch.add_column(sa.Column("patterns", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detector_checkpoints") as batch:
        batch.drop_column("patterns")
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("log_pattern")
    with op.batch_alter_table("detectors") as batch:
        batch.drop_column("log_source")
