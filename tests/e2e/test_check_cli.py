"""``motcua check`` as an operator runs it: clean after the demo, then each hand-made
corruption (a flipped byte in a blob, a tampered signed result, an edited audit entry, an
index entry deleted, a job left running past its lease) named with where it is.

One data dir for the module: the demo (about 20 s) runs once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from records.adapters.blob_fs import FilesystemBlobStore
from search.tantivy_index import TantivyIndex
from tests.fixtures.app import MOTCUA, cli_env, is_vietnamese
from tests.fixtures.demo import DemoRun, demo_copy

pytestmark = pytest.mark.e2e


def _motcua(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOTCUA), *args], env=cli_env(data_dir), cwd=data_dir,
                          capture_output=True, text=True, timeout=120, check=False)


def _check(data_dir: Path, exit_code: int) -> Any:
    done = _motcua(data_dir, "check", "--json")
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo_dir(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the session's ``motcua demo`` outcome, corrupted by the tests."""
    return demo_copy(demo_run, tmp_path_factory.mktemp("check")).data_dir


def test_clean_after_the_demo(demo_dir: Path) -> None:
    report = _check(demo_dir, 0)
    assert report["clean"] is True
    assert report["problems"] == 0, report["findings"]
    checked = report["checked"]
    # Two scanned papers (originals + PDF/A) and a result (draft, signed, sealed).
    assert checked["blobs"] >= 5
    assert checked["bytes"] > 0
    assert checked["results"] == 1
    assert checked["audit_entries"] >= 20
    assert checked["index_entries"] >= 3


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "motcua.db")


def test_each_corruption_is_named(demo_dir: Path) -> None:
    blobs = FilesystemBlobStore(demo_dir / "blobs")
    with _db(demo_dir) as db:
        doc_code, original = db.execute(
            "SELECT d.doc_code, f.sha256 FROM document_files f JOIN documents d "
            "ON d.id = f.document_id ORDER BY d.id, f.position LIMIT 1").fetchone()
        code, sealed = db.execute("SELECT code, blob_sha256 FROM results "
                                  "WHERE status IN ('sealed', 'issued')").fetchone()
        job_id, job_doc = db.execute(
            "SELECT j.id, d.doc_code FROM jobs j JOIN documents d ON d.id = j.document_id "
            "ORDER BY j.id LIMIT 1").fetchone()

    # 1. A flipped byte in an original scan.
    path = blobs.path_for(original)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))

    # 2. The sealed result replaced by a tampered copy, stored properly under its own hash
    #    (what someone with write access to the store and the database could do).
    pdf = blobs.get(sealed)
    assert pdf.startswith(b"%PDF-1.")
    tampered = blobs.put(pdf[:7] + bytes([pdf[7] ^ 0x01]) + pdf[8:])  # the header's version

    # 3. An audit entry edited; 5. a job left "running" on a lease that ran out long ago;
    # 6. a record of a read left in the inbox an hour ago (no serving process to chain it).
    with _db(demo_dir) as db:
        db.execute("INSERT INTO audit_inbox (at, actor, action, object_type, object_id, detail)"
                   " VALUES (?, 'public', 'result.verify', 'result', ?, '{}')",
                   (f"{datetime.now(UTC) - timedelta(hours=1):%Y-%m-%d %H:%M:%S.%f}", code))
        db.execute("UPDATE results SET blob_sha256 = ? WHERE code = ?", (tampered.sha256, code))
        db.execute("UPDATE audit_log SET actor = 'ke_gian' WHERE seq = 7")
        db.execute("UPDATE jobs SET state = 'running', lease_until = '2020-01-01 00:00:00' "
                   "WHERE id = ?", (job_id,))

    # 4. The result's search entry deleted.
    TantivyIndex(demo_dir / "index").delete([f"result:{code}"])

    report = _check(demo_dir, 1)
    assert report["clean"] is False
    named = {(f["kind"], f["object"], f["where"]) for f in report["findings"]
             if f["severity"] == "problem"}
    assert named == {
        ("blob_corrupt", f"document:{doc_code}", f"blob {original}"),
        ("result_invalid", f"result:{code}", f"blob {tampered.sha256}"),
        ("audit_broken", "audit", "seq 7"),
        ("index_missing", f"result:{code}", f"index result:{code}"),
        ("job_stuck", f"job:{job_id}", f"document:{job_doc}"),
        ("audit_waiting", "audit", "inbox 1"),
    }
    for finding in report["findings"]:
        assert is_vietnamese(finding["message"]), finding
    # The sealed file no result points at any more is a notice, not a problem.
    assert {(f["kind"], f["where"]) for f in report["findings"]
            if f["severity"] == "notice"} == {("blob_orphan", f"blob {sealed}")}

    text = _motcua(demo_dir, "check")
    assert text.returncode == 1
    assert "PHÁT HIỆN 6 LỖI" in text.stdout
    for needle in (original, code, "seq 7", doc_code):
        assert needle in text.stdout
