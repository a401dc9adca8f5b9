"""The server fixtures in tests/fixtures/services.py hand out working servers."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration

# Database names seen by test_each_test_gets_a_fresh_database, across its parameters.
_seen_databases: list[str] = []


def _public_tables(engine: sqlalchemy.Engine) -> list[str]:
    return sqlalchemy.inspect(engine).get_table_names(schema="public")


@pytest.mark.postgres
def test_postgres_url_uses_psycopg3(postgres_url: str) -> None:
    assert make_url(postgres_url).drivername == "postgresql+psycopg"


@pytest.mark.postgres
def test_postgres_db_url_round_trip(postgres_db_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE ho_so (id serial PRIMARY KEY, ten text)"))
            conn.execute(
                sqlalchemy.text("INSERT INTO ho_so (ten) VALUES (:ten)"),
                {"ten": "Giấy khai sinh"},
            )
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT id, ten FROM ho_so")).all()
        assert [tuple(r) for r in rows] == [(1, "Giấy khai sinh")]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_fresh_database(postgres_db_url: str, run: int) -> None:
    name = make_url(postgres_db_url).database
    assert name is not None
    assert name.startswith("motcua_test_")
    assert name not in _seen_databases
    engine = sqlalchemy.create_engine(postgres_db_url)
    try:
        # Empty even though the previous run left a table behind in its own database.
        assert _public_tables(engine) == []
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE leftover (id int)"))
            existing = set(
                conn.execute(sqlalchemy.text("SELECT datname FROM pg_database")).scalars()
            )
        # The previous run's database was dropped at its teardown.
        assert existing.isdisjoint(_seen_databases)
    finally:
        engine.dispose()
    _seen_databases.append(name)


def _redis_command(url: str, *commands: bytes) -> list[bytes]:
    """Send inline Redis commands over a raw socket; return one reply line each."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or 6379), timeout=5) as sock:
        replies: list[bytes] = []
        reader = sock.makefile("rb")
        for command in commands:
            sock.sendall(command + b"\r\n")
            replies.append(reader.readline().rstrip(b"\r\n"))
        return replies


def test_redis_url_answers_ping(redis_url: str) -> None:
    db = urlsplit(redis_url).path.lstrip("/") or "0"
    assert _redis_command(redis_url, b"PING", b"SELECT " + db.encode()) == [b"+PONG", b"+OK"]
