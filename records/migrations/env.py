"""Alembic environment: runs on the connection handed in by ``upgrade_schema`` or on the URL
from the configuration (``alembic -x`` is not needed: ``motcua init`` calls this)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from records.adapters.sql.engine import create_engine_for
from records.adapters.sql.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database URL for migrations")
    with create_engine_for(url).begin() as conn:
        _run(conn)
