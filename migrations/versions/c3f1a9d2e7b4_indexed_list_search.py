"""indexed list search: FTS5 trigram tables (SQLite) / pg_trgm indexes (PostgreSQL) for large tables

Revision ID: c3f1a9d2e7b4
Revises: adbf68df5f92
Create Date: 2026-11-27 21:30:00

"""
from alembic import op
import sqlalchemy as sa  # noqa: F401

from app import fulltext

revision = 'c3f1a9d2e7b4'
down_revision = 'adbf68df5f92'
branch_labels = None
depends_on = None


def upgrade():
    fulltext.install(op.get_bind())


def downgrade():
    fulltext.uninstall(op.get_bind())
    if op.get_context().dialect.name == "postgresql":
        from schema import REGISTRY

        for model in fulltext.indexed_models(REGISTRY):
            for column in fulltext.text_columns(model):
                op.execute(f"DROP INDEX IF EXISTS ix_{model.__tablename__}_{column}_trgm")
