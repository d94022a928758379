"""Add the detectors' direction and minimum deviation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing detectors keep scoring both ways with no floor, as they did.
    with op.batch_alter_table("detectors") as batch:
        batch.add_column(
            sa.Column(
                "direction", sa.String(length=32), nullable=False, server_default="DIRECTION_BOTH"
            )
        )
        batch.add_column(sa.Column("min_deviation", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("detectors") as batch:
        batch.drop_column("min_deviation")
        batch.drop_column("direction")
