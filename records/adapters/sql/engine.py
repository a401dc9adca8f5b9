"""Engines for the records database and the schema migrations that shape it."""

from __future__ import annotations

import time
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

__all__ = ["alembic_config", "create_engine_for", "upgrade_schema"]

READONLY = "motcua_readonly"


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up front;
    # take it ourselves (SQLAlchemy's documented recipe) so that concurrent writers queue on
    # busy_timeout instead of failing to upgrade a read lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def create_engine_for(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``: SQLite in WAL mode, or PostgreSQL through psycopg 3."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=10)
    _ping_after_idle(engine)
    return engine


IDLE_BEFORE_PING = 10.0  # seconds


def _ping_after_idle(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle for a while.

    ``pool_pre_ping`` would cost a round trip on every checkout, several per request. A
    connection in steady use is known to be alive; one that sat in the pool may have been cut
    (a database restart, a firewall's idle timeout) and is replaced before anyone sees it. A
    connection cut while busy fails its statement, and SQLAlchemy then drops the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool retries with a fresh connection
            raise DisconnectionError(str(exc)) from exc


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("records") / "migrations"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent)."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
