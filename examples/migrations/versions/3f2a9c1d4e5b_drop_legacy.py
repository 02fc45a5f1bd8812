"""drop legacy columns

Revision ID: 3f2a9c1d4e5b
Revises: 2b7c1d9e4f60
Create Date: 2025-03-01 08:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "3f2a9c1d4e5b"
down_revision: Union[str, Sequence[str], None] = "2b7c1d9e4f60"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # destructive: approved -- legacy_flag unused since the 2024 rewrite
    op.drop_column("users", "legacy_flag")
    op.drop_table("audit_old")
    op.alter_column("users", "email", type_=sa.String(320))
    op.add_column("orders", sa.Column("total", sa.Numeric(), nullable=False))


def downgrade() -> None:
    raise NotImplementedError("one-way migration")
