"""create users

Revision ID: 1975ea83b712
Revises:
Create Date: 2025-01-10 09:12:44.120000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "1975ea83b712"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False),
    )
    # A new table has no rows and no readers yet: no lock problem here.
    op.create_index("ix_users_email", "users", ["email"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_email", table_name="users")
    op.drop_table("users")
