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
        Settings(env="production", secret_key=secret_key, audit_key=audit_key,
                 **PRODUCTION_PKI)  # type: ignore[arg-type]
    assert named in str(caught.value)


PRODUCTION_PKI = {"pki": "configured", "trust_anchors": [Path("/etc/motcua/root.pem")],
                  "tsa_url": "http://tsa.example.vn"}


def test_production_starts_with_real_secrets_and_a_real_pki() -> None:
    settings = Settings(env="production", secret_key=STRONG, audit_key=STRONG + "y",
                        **PRODUCTION_PKI)  # type: ignore[arg-type]
    assert (settings.env, settings.pki) == ("production", "configured")


def test_production_refuses_the_demo_pki() -> None:
    with pytest.raises(ValidationError, match="MOTCUA_PKI=configured"):
        Settings(env="production", secret_key=STRONG, audit_key=STRONG + "y")


def test_a_configured_pki_needs_anchors_and_a_tsa() -> None:
    with pytest.raises(ValidationError, match="MOTCUA_TRUST_ANCHORS and MOTCUA_TSA_URL"):
        Settings(pki="configured", tsa_url="http://tsa.example.vn")


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
