"""add orders

Revision ID: 2b7c1d9e4f60
Revises: 1975ea83b712
Create Date: 2025-02-03 14:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "2b7c1d9e4f60"
down_revision: Union[str, Sequence[str], None] = "1975ea83b712"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
    )
    # users is large and live: this index locks writes while it builds.
    op.create_index("ix_users_created", "users", ["id"])
    op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])


def downgrade() -> None:
    op.drop_index("ix_users_created", table_name="users")
    op.drop_table("orders")
