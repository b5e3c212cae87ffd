"""Alembic's environment: runs migrations on the connection ``engine.store.migrate`` hands over.

Run through ``approvals db upgrade`` (or ``Database.create_schema()``); a developer's plain
``alembic`` command (alembic.ini at the repository root) gets a connection to
``APPROVALS_DATABASE_URL`` instead.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import JSON

from engine.store.migrate import include_name
from engine.store.models import Base, UTCDateTime

config = context.config


def render_item(type_, obj, autogen_context):
    """Autogenerate writes the application's column types as plain SQLAlchemy ones, so a
    revision never imports the models."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSON) and "postgresql" in getattr(obj, "_variant_mapping", {}):  # models.JSONType
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,  # only read by autogenerate
        include_name=include_name,
        render_item=render_item,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table instead. Remember that a
        # copied case_history loses its triggers: recreate them in the same migration.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from engine.store.db import Database

    database = Database()
    try:
        with database.engine.connect() as conn:
            run(conn)
            conn.commit()
    finally:
        database.dispose()
