"""Gap-free counters and upserts that work on both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

__all__ = ["dialect_insert", "next_in_sequence"]


def dialect_insert(connection: Connection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, for the connection's dialect."""
    return (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(table)


def next_in_sequence(connection: Connection, table: Table, **key: object) -> int:
    """Increment the counter row ``key`` of ``table`` (columns ``key`` and ``last_seq``).

    An upsert that increments in place: the row stays locked until commit, so the number is
    unique under concurrency and gap-free (a rolled-back transaction gives it back).
    """
    stmt = dialect_insert(connection, table).values(**key, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={"last_seq": table.c.last_seq + 1},
    ).returning(table.c.last_seq)
    return int(connection.execute(stmt).scalar_one())
