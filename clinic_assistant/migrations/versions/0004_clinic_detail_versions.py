"""The clinic's details edited in the staff console, proposed and approved, versioned
(clinic_assistant/clinic/details.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 23:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinic_detail_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("clinic_detail_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clinic_detail_versions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clinic_detail_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_detail_versions_status"))
    op.drop_table("clinic_detail_versions")
