"""The abuse corpus through the real API: every hostile upload is refused in bounded time and
memory, in Vietnamese naming the file, with nothing stored but the refusal's audit entry,
and the service answers the next request.

``test_each_refusal_is_bounded_in_a_child`` inspects each case in a fresh interpreter and
reads its peak resident memory (``ru_maxrss``): the figures in docs/digitisation.md come
from ``python -m tests.abuse.measure``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.app import create_app
from api.bootstrap import bootstrap
from api.demo import seed_demo
from records.adapters.clock import ManualClock
from records.adapters.sql import tables
from records.authz import Principal
from records.model import Role
from records.services import verify_audit
from tests.abuse.corpus import CASES, Case, GiB, flate_zeros
from tests.fixtures.app import (
    FAST_ARGON2,
    Api,
    HermeticSettings,
    bearer,
    count_rows,
    is_vietnamese,
    running_api,
    token_for,
)

pytestmark = pytest.mark.abuse

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
DOCUMENT_TABLES = ("documents", "document_versions", "document_files", "document_pages",
                   "jobs")
MAX_SECONDS, MAX_RSS_MB = 10.0, 300
REFUSED = [pytest.param(case, id=case.name) for case in CASES if case.code is not None]
ACCEPTED = [pytest.param(case, id=case.name) for case in CASES if case.code is None]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, str], str]]:
    with running_api(tmp_path_factory.mktemp("abuse"), T0) as running:
        clerk = running.login("tiepnhan")
        created = running.create(clerk)
        assert created.status_code == 201, created.text
        yield running, clerk, str(created.json()["code"])


def _upload(api: Api, headers: dict[str, str], dossier: str, filename: str,
            body: bytes) -> Any:
    return api.client.post(f"/api/v1/dossiers/{dossier}/documents",
                           data={"component_code": "DON"},
                           files=[("files", (filename, body, "application/octet-stream"))],
                           headers=headers)


def _stored(api: Api) -> tuple[dict[str, int], list[str]]:
    root = api.services.settings.data_dir / "blobs"
    blobs = sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return count_rows(api.services.engine, *DOCUMENT_TABLES), blobs


def _refusals(api: Api) -> list[dict[str, Any]]:
    log = tables.audit_log.c
    with api.services.engine.connect() as connection:
        return [json.loads(detail) for detail in connection.execute(
            select(log.detail).where(log.action == "document.refused").order_by(log.seq))
            .scalars()]


@pytest.mark.parametrize("case", REFUSED)
def test_a_hostile_upload_is_refused_and_only_the_refusal_is_recorded(
        api: tuple[Api, dict[str, str], str], case: Case) -> None:
    running, clerk, dossier = api
    before, refusals = _stored(running), _refusals(running)
    response = _upload(running, clerk, dossier, case.filename, case.make())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (case.code, "files")
    assert error["message"].startswith(f"«{case.filename}»: ")
    assert is_vietnamese(error["message"])
    assert _stored(running) == before
    assert _refusals(running) == [*refusals, {"filename": case.filename, "code": case.code}]
    assert list((running.services.settings.data_dir / "tmp").iterdir()) == []
    # The service is still there and answers the next request.
    assert running.client.get(f"/api/v1/dossiers/{dossier}", headers=clerk).status_code == 200


@pytest.mark.parametrize("case", ACCEPTED)
def test_a_mislabelled_or_repairable_file_is_stored_under_its_real_type(
        api: tuple[Api, dict[str, str], str], case: Case) -> None:
    running, clerk, dossier = api
    response = _upload(running, clerk, dossier, case.filename, case.make())
    assert response.status_code == 202, response.text
    stored = response.json()["files"]
    expected = "image/png" if case.name == "png-named-pdf" else "application/pdf"
    assert [(f["filename"], f["media_type"]) for f in stored] == [(case.filename, expected)]


PATH_TRICKS = [
    ("../../etc/passwd.png", "passwd.png"),
    ("/etc/cron.d/x.png", "x.png"),
    ("..\\..\\windows\\system32\\a.png", "a.png"),
    ("a\x00b.png", "a%00b.png"),  # httpx escapes the NUL on the wire
    ("hoa-don\u202egnp.exe", "hoa-dongnp.exe"),  # RTL override: shown as "hoa-donexe.png"
    ("CON.png", "CON.png"),  # a label only, never a path: harmless as it is
    ("đ" * 400 + ".png", "đ" * 255),
]


def test_path_tricks_in_filenames_are_labels_never_paths(
        api: tuple[Api, dict[str, str], str], tmp_path: Path) -> None:
    running, clerk, dossier = api
    data_dir = running.services.settings.data_dir
    before = {p for p in data_dir.parent.rglob("*")}
    png = next(case for case in CASES if case.name == "png-named-pdf").make()
    names = []
    for trick, _ in PATH_TRICKS:
        response = _upload(running, clerk, dossier, trick, png)
        assert response.status_code == 202, (trick, response.text)
        names.append(response.json()["files"][0]["filename"])
    assert names == [safe for _, safe in PATH_TRICKS]
    written = {p for p in data_dir.parent.rglob("*")} - before
    assert all(p.is_relative_to(data_dir) for p in written), written
    assert not (tmp_path / "passwd.png").exists()


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(
        api: tuple[Api, dict[str, str], str]) -> None:
    running, clerk, dossier = api
    limit = running.services.settings.max_upload_bytes + (1 << 20)
    before, refusals = _stored(running), _refusals(running)
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1 << 16
            yield bytes(1 << 16)

    response = running.client.post(
        f"/api/v1/dossiers/{dossier}/documents", content=body(),
        headers={**clerk, "Content-Type": "multipart/form-data; boundary=x",
                 "Content-Length": str(limit * 10)})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    assert is_vietnamese(error["message"])
    assert (_stored(running), _refusals(running)) == (before, refusals)


def test_a_chunked_body_is_cut_when_it_passes_the_limit(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    services = bootstrap(HermeticSettings(data_dir=tmp_path, max_upload_bytes=1 << 20,
                                          **FAST_ARGON2), clock=ManualClock(T0))
    seed_demo(services)
    with TestClient(create_app(services)) as client:
        clerk = bearer(token_for(client, "tiepnhan"))

        def body() -> Iterator[bytes]:  # no Content-Length: sent chunked
            yield (b"--x\r\nContent-Disposition: form-data; name=\"files\"; "
                   b"filename=\"lon.png\"\r\nContent-Type: image/png\r\n\r\n")
            for _ in range(8):
                yield bytes(1 << 20)

        response = client.post("/api/v1/dossiers/X/documents", content=body(),
                               headers={**clerk,
                                        "Content-Type": "multipart/form-data; boundary=x"})
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "request_too_large"
        assert not (tmp_path / "tmp").exists() or not any((tmp_path / "tmp").iterdir())


@pytest.mark.parametrize(("parts", "code"), [
    pytest.param([("component_code", "DON")] + [("x", "1")] * 1200, 400, id="many-tiny-parts"),
    pytest.param([("component_code", "DON"), ("title", "a" * (2 << 20))], 400,
                 id="huge-field-value"),
])
def test_multipart_abuse_is_refused_in_vietnamese(api: tuple[Api, dict[str, str], str],
                                                  parts: list[tuple[str, str]],
                                                  code: int) -> None:
    running, clerk, dossier = api
    before, refusals = _stored(running), _refusals(running)
    response = running.client.post(
        f"/api/v1/dossiers/{dossier}/documents", data=dict.fromkeys(()),
        files=[(name, (None, value)) for name, value in parts], headers=clerk)
    assert response.status_code in (code, 422), response.text
    assert is_vietnamese(response.json()["error"]["message"])
    assert (_stored(running), _refusals(running)) == (before, refusals)


def test_the_audit_chain_is_intact_after_the_corpus(
        api: tuple[Api, dict[str, str], str]) -> None:
    running, _, _ = api
    report = verify_audit(running.services.records, Principal(
        username="kiem-tra", roles=frozenset({Role.ADMIN})))
    assert report.intact, report


_PROBE = """
import json, sys, time
from pathlib import Path
from ocr_pipeline.intake import inspect_upload
start = time.perf_counter()
verdict = inspect_upload(Path(sys.argv[1]))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forked pytest.
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"code": getattr(verdict, "code", None), "seconds":
                  time.perf_counter() - start, "rss_mb": int(hwm.split()[1]) / 1024}))
"""


def inspect_in_child(path: Path) -> dict[str, Any]:
    """Inspect ``path`` in a fresh interpreter: its verdict, seconds and peak RSS in MB."""
    done = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True,
                          text=True, timeout=60, check=True, cwd=Path(__file__).parents[2])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES
                                  if c.name in {"pdf-content-bomb", "pdf-image-bomb",
                                                "png-bomb", "pdf-100k-pages"}])
def test_each_refusal_is_bounded_in_a_child(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.make())
    measured = inspect_in_child(path)
    assert measured["code"] == case.code
    assert measured["seconds"] < MAX_SECONDS
    assert measured["rss_mb"] < MAX_RSS_MB


def test_the_bombs_inflate_to_what_they_claim() -> None:
    import zlib

    assert zlib.decompress(flate_zeros(8 << 20, b" ")) == b" " * (8 << 20)  # checksum too
    assert len(flate_zeros(GiB)) < GiB // 1000
