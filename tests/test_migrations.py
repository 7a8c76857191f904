"""`flask db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("PROPDESK_TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"propdesk_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_matches_models(empty_database_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "UPLOAD_FOLDER": str(tmp_path)})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            include = app.extensions["migrate"].configure_args["include_object"]  # search indexes are app/fulltext's
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include}),
                                    db.metadata)
            tables = set(db.inspect(conn).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {"estate", "unit", "owner", "audit_log", "alembic_version"} <= tables


def test_every_filter_and_sort_a_spec_declares_is_indexed_in_the_migrated_database(empty_database_url, tmp_path):
    """Reflect the database the migrations build: each column a list filters or sorts on leads an index."""
    from schema import REGISTRY
    from schema.spec import read_columns

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "UPLOAD_FOLDER": str(tmp_path)})
    with app.app_context():
        upgrade()
        inspector = db.inspect(db.engine)
        leading = {}
        for table in inspector.get_table_names():
            lead = {inspector.get_pk_constraint(table)["constrained_columns"][0]} if \
                inspector.get_pk_constraint(table)["constrained_columns"] else set()
            lead |= {ix["column_names"][0] for ix in inspector.get_indexes(table) if ix["column_names"]}
            lead |= {uq["column_names"][0] for uq in inspector.get_unique_constraints(table)}
            leading[table] = lead
        db.engine.dispose()
    checked, missing = 0, []
    for model in REGISTRY:
        for column in read_columns(model):
            checked += 1
            if column.name not in leading[column.table.name]:
                missing.append(f"{model.__tablename__}: {column.table.name}.{column.name}")
    assert not missing, missing
    assert checked > 200
