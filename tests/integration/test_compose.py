"""The production stack's files parse, and say nothing the code does not understand.

``docker-compose config`` (Debian's docker-compose 1.29, no engine needed) validates
docker-compose.yml against the Compose schema; the env example's ``MOTCUA_*`` variables are
read by the real ``Settings`` so that the stack's configuration cannot drift from the code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML: schemathesis and moto pull it in
from pydantic import ValidationError

from api.cli import app as cli_app
from api.settings import Settings
from records.adapters.jobs_celery import QUEUES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "motcua.env.example"
APP_SERVICES = ("migrate", "api", "worker-ocr", "worker-sign", "worker-index", "scheduler")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
SECRETS = ("MOTCUA_SECRET_KEY", "MOTCUA_AUDIT_KEY", "MOTCUA_S3_SECRET_KEY", "MOTCUA_TSA_URL")


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """docker-compose.yml as docker-compose resolves it with the env example."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is not installed: run make test, which installs Debian's "
                    "docker-compose (it parses the file without an engine)")
    env = {**os.environ, "MOTCUA_ENV_FILE": str(ENV_EXAMPLE)}
    done = subprocess.run([tool, "-f", str(COMPOSE), "config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = yaml.safe_load(done.stdout)
    return loaded


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


def test_every_service_is_checked_for_health_and_images_are_pinned(
        resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(APP_SERVICES) | {"postgres", "redis", "s3", "elasticsearch"} == set(services)
    for name, spec in services.items():
        if name != "migrate":  # a one-shot step: it exits, it is not watched
            assert "healthcheck" in spec, f"{name} has no healthcheck"
        if name in {"postgres", "redis", "s3"}:
            assert DIGEST.search(spec["image"]), f"{name} is not pinned by digest"
    for name in APP_SERVICES:
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        if name != "migrate":
            assert services[name]["depends_on"]["migrate"]["condition"] == \
                "service_completed_successfully"
    assert set(resolved["volumes"]) >= {"motcua-data", "postgres-data", "s3-data", "es-data"}


def test_commands_and_queues_exist_in_the_cli(resolved: dict[str, Any]) -> None:
    commands = {c.name or (c.callback.__name__ if c.callback else "")
                for c in cli_app.registered_commands}
    served: set[str] = set()
    for name in APP_SERVICES:
        argv = resolved["services"][name]["command"]
        assert argv[0] == "motcua", argv
        assert argv[1] in commands, argv
        if argv[1] == "worker":
            served.update(argv[argv.index("--queues") + 1].split(","))
    assert served == set(QUEUES), "every queue has its worker, and no worker an unknown one"


def test_env_example_names_only_settings_fields() -> None:
    fields = {f"MOTCUA_{name.upper()}" for name in Settings.model_fields}
    named = {k for k in _env_example() if k.startswith("MOTCUA_")}
    assert named - fields == set(), "variables the code would silently ignore"
    assert {"MOTCUA_SECRET_KEY", "MOTCUA_AUDIT_KEY", "MOTCUA_DATABASE_URL"} <= named


def test_env_example_refuses_to_start_until_filled_in_and_then_parses(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("MOTCUA_"):
            monkeypatch.delenv(name)
    pairs = _env_example()
    assert all(pairs[name] == "" for name in SECRETS), "the example ships no secret"
    with pytest.raises(ValidationError, match="MOTCUA_SECRET_KEY"):
        Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    filled = tmp_path / "motcua.env"
    values = {**pairs, **{k: "x" * 40 for k in SECRETS[:3]},
              "MOTCUA_TSA_URL": "http://tsa.example:8080"}
    filled.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    settings = Settings(_env_file=filled)  # type: ignore[call-arg]
    assert settings.env == "production"
    assert settings.pki == "configured"
    assert (settings.job_backend, settings.blob_backend, settings.search_backend) == \
        ("celery", "s3", "elastic")
    assert settings.trust_anchors == [Path("/etc/motcua/pki/root.pem")]
    assert settings.province == "Quảng Ninh"
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")
