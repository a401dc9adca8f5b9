"""The private-server starters work on their own, whatever the shared servers do."""

from __future__ import annotations

import shutil

import psycopg
import pytest
import sqlalchemy

from tests.fixtures.services import (
    postgres_bindir,
    redis_ping,
    start_private_postgres,
    start_private_redis,
)

pytestmark = pytest.mark.integration


@pytest.mark.postgres
@pytest.mark.skipif(postgres_bindir() is None, reason="PostgreSQL tests skipped: the PostgreSQL "
                    "server (initdb, pg_ctl) is not installed")
def test_private_postgres_starts_serves_and_stops() -> None:
    server = start_private_postgres()
    try:
        assert server.port != 5432
        engine = sqlalchemy.create_engine(server.url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sqlalchemy.text("SELECT 1")).scalar_one() == 1
                encoding = conn.execute(sqlalchemy.text("SHOW server_encoding")).scalar_one()
                assert encoding == "UTF8"
        finally:
            engine.dispose()
    finally:
        server.stop()
    assert not server.tmpdir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
            connect_timeout=2,
        )  # fmt: skip
    server.stop()  # idempotent


@pytest.mark.skipif(shutil.which("redis-server") is None,
                    reason="Redis tests skipped: the Redis server (redis-server) is not installed")
def test_private_redis_starts_serves_and_stops() -> None:
    server = start_private_redis()
    try:
        assert redis_ping("127.0.0.1", server.port)
    finally:
        server.stop()
    assert not redis_ping("127.0.0.1", server.port, timeout=0.5)
    assert not server.tmpdir.exists()
    server.stop()  # idempotent
