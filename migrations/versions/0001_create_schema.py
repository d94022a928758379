"""Create the data_sources, detectors and anomalies tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:44:13.067883
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_sources",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("authorization", sa.Text(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "detectors",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_source_id", sa.String(length=63), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("step_seconds", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.JSON(), nullable=False),
        sa.Column("warning_threshold", sa.Float(), nullable=False),
        sa.Column("critical_threshold", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["data_source_id"], ["data_sources.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("detectors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_detectors_data_source_id"), ["data_source_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_detectors_state"), ["state"], unique=False)

    op.create_table(
        "anomalies",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("detector_id", sa.String(length=63), nullable=False),
        sa.Column("series_labels", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("peak_score", sa.Float(), nullable=False),
        sa.Column("peak_value", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["detector_id"], ["detectors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("anomalies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anomalies_detector_id"), ["detector_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_anomalies_severity"), ["severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_anomalies_start_time"), ["start_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_anomalies_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("anomalies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anomalies_state"))
        batch_op.drop_index(batch_op.f("ix_anomalies_start_time"))
        batch_op.drop_index(batch_op.f("ix_anomalies_severity"))
        batch_op.drop_index(batch_op.f("ix_anomalies_detector_id"))

    op.drop_table("anomalies")
    with op.batch_alter_table("detectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detectors_state"))
        batch_op.drop_index(batch_op.f("ix_detectors_data_source_id"))

    op.drop_table("detectors")
    op.drop_table("data_sources")
