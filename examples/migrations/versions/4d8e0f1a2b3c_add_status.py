"""add order status

Revision ID: 4d8e0f1a2b3c
Revises: 2b7c1d9e4f60
Create Date: 2025-03-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "4d8e0f1a2b3c"
down_revision: Union[str, Sequence[str], None] = "2b7c1d9e4f60"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("status", sa.String(20), server_default="new"))
    op.execute("CREATE INDEX ix_orders_status ON orders (status)")


def downgrade() -> None:
    op.drop_column("orders", "status")
