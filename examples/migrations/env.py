"""Alembic's environment script (never imported by alembic-lsp)."""
from alembic import context

target_metadata = None


def run_migrations_online():
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
