"""Staff roles (staff/roles.py): every account has one. Accounts made before roles could
do everything, so they become administrators; new accounts default to front desk.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 23:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=20), server_default="front_desk", nullable=False))
    op.execute("UPDATE staff_users SET role = 'admin'")


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("role")
