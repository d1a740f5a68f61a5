"""Answer texts changed in the staff console, drafted, approved and versioned
(clinic_assistant/clinic/answer_texts.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
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
    with op.batch_alter_table("answer_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_versions_response"), ["response"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_versions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("answer_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_versions_status"))
        batch_op.drop_index(batch_op.f("ix_answer_versions_response"))
    op.drop_table("answer_versions")
