"""Add the detectors' switch for exporting their scores on /metrics.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing detectors export nothing, as before: the operator chooses what Prometheus gets.
    with op.batch_alter_table("detectors") as batch:
        batch.add_column(
            sa.Column("export_scores", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("detectors") as batch:
        batch.drop_column("export_scores")
