"""SQLAlchemy adapter of the records store: SQLite (embedded default) and PostgreSQL."""

from records.adapters.sql.engine import create_engine_for, upgrade_schema
from records.adapters.sql.jobs import SqlJobStore
from records.adapters.sql.store import SqlRecordsStore

__all__ = ["SqlJobStore", "SqlRecordsStore", "create_engine_for", "upgrade_schema"]
