"""Pooled PostgreSQL connections: tested before use after sitting idle, not on every use."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from records.adapters.sql import create_engine_for
from records.adapters.sql import engine as engine_module

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _cut(admin: sa.Engine, pid: int) -> None:
    with admin.connect() as c:
        c.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_an_idle_connection_cut_by_the_server_is_replaced_unseen(
        postgres_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine_for(postgres_db_url)
    admin = create_engine_for(postgres_db_url)
    try:
        first = _backend_pid(engine)
        _cut(admin, first)  # as a database restart or a firewall would, while it sat idle
        monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING", 0.0)
        assert _backend_pid(engine) != first  # tested, found dead, replaced: no error
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_in_steady_use_is_not_tested_each_time(postgres_db_url: str) -> None:
    engine = create_engine_for(postgres_db_url)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    try:
        for _ in range(5):
            with engine.connect() as c:
                c.execute(sa.text("SELECT 42"))
        assert statements == ["SELECT 42"] * 5  # no ping round trips between them
    finally:
        engine.dispose()
