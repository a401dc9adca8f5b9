"""Configuration: production refuses default secrets; everything else has a working default."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import DEV_SECRET, Settings

pytestmark = pytest.mark.unit

STRONG = "x" * 40


def test_development_runs_on_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.secret_key == DEV_SECRET
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/motcua.db"


@pytest.mark.parametrize(("secret_key", "audit_key", "named"), [
    (DEV_SECRET, STRONG, "MOTCUA_SECRET_KEY"),
    (STRONG, DEV_SECRET, "MOTCUA_AUDIT_KEY"),
    (STRONG, "short", "MOTCUA_AUDIT_KEY"),
])
def test_production_refuses_default_or_short_secrets(secret_key: str, audit_key: str,
                                                     named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(env="production", secret_key=secret_key, audit_key=audit_key)
    assert named in str(caught.value)


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(env="production", secret_key=STRONG, audit_key=STRONG + "y")
    assert settings.env == "production"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    monkeypatch.setenv("MOTCUA_JOB_BACKEND", "celery")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@127.0.0.1/db"
    assert settings.job_backend == "celery"


def test_a_bad_dossier_code_format_stops_start_up(tmp_path: Path) -> None:
    from api.bootstrap import bootstrap

    with pytest.raises(ValueError, match="dossier code format"):
        bootstrap(Settings(data_dir=tmp_path, dossier_code_format="{agency}-{seq}"),
                  migrate=False)
