"""``motcua ocr`` and ``motcua ingest`` run as an operator runs them: the console script in a
subprocess, on a temporary data directory, with real tesseract on half-A4 scans."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from api.demo import PROCEDURES
from tests.fixtures.app import MOTCUA, cli_env, is_vietnamese
from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page

pytestmark = [
    pytest.mark.e2e,
]

LAND = PROCEDURES[0].code
OWNER_ID, OWNER = "022190001234", "Nguyễn Thị Hương"
DOSSIER_CODE = re.compile(r"^000\.00\.15\.H40-\d{6}-\d{4}$")
TIMEOUT_S = 180  # a bound on each command; each takes seconds


def _motcua(data_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOTCUA), *map(str, args)], env=cli_env(data_dir), cwd=data_dir,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _json(data_dir: Path, *args: str | Path) -> Any:
    done = _motcua(data_dir, *args, "--json")
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two land applications drawn differently (both name the citizen), and a decision."""
    folder = tmp_path_factory.mktemp("scans")
    specs = {
        "don-1.png": PageSpec(size=PageSize.HALF, document=0),
        "don-2.png": PageSpec(size=PageSize.HALF, document=0, font="dejavu-sans"),
        "quyet-dinh.png": PageSpec(size=PageSize.HALF, document=2, font="noto-sans"),
    }
    return {name: save_page(make_page(spec), folder / name) for name, spec in specs.items()}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory after ``motcua init --demo``, once per module: copy it."""
    data_dir = tmp_path_factory.mktemp("installed")
    init = _json(data_dir, "init", "--demo")
    assert init["demo"]["seeded_now"] is True
    return data_dir


@pytest.fixture
def installed(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the data directory ``motcua init --demo`` left (a run is 3 s)."""
    shutil.copytree(pristine, tmp_path, symlinks=True, dirs_exist_ok=True)
    return tmp_path


def test_ocr_makes_one_pdfa_with_the_pages_in_order(tmp_path: Path,
                                                    scans: dict[str, Path]) -> None:
    out, text = tmp_path / "out.pdf", tmp_path / "out.txt"
    result = _json(tmp_path, "ocr", scans["don-1.png"], scans["quyet-dinh.png"], "--out", out,
                   "--text", text)
    assert (result["output"], result["pdfa"]) == (str(out), True)
    pages = result["pages"]
    assert [p["number"] for p in pages] == [1, 2]
    for page in pages:
        assert page["ocr_done"] is True
        assert 0 < page["confidence"] <= 100
        assert page["needs_review"] is (page["confidence"] < 80)
    # The document's mean is over all its words, so it lies between the pages' means.
    low, high = sorted(p["confidence"] for p in pages)
    assert low - 0.05 <= result["mean_confidence"] <= high + 0.05
    assert f"Họ và tên: {OWNER}" in pages[0]["text"]
    assert "QUYẾT ĐỊNH" in pages[1]["text"]
    assert "QUYẾT ĐỊNH" not in pages[0]["text"]

    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 2
        assert pdf.open_metadata().get("pdfaid:part") == "2"
    written = text.read_text(encoding="utf-8")
    assert written.split("\f") == [p["text"] for p in pages]
    assert unicodedata.is_normalized("NFC", written)
    assert "ĐƠN ĐĂNG KÝ ĐẤT ĐAI" in written
    assert "Điều 1. Cấp giấy phép xây dựng" in written


def test_ocr_refuses_an_empty_file_in_vietnamese(tmp_path: Path) -> None:
    empty = tmp_path / "rong.png"
    empty.write_bytes(b"")
    done = _motcua(tmp_path, "ocr", empty, "--out", tmp_path / "out.pdf")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip() == "rong.png: Tệp rỗng (0 byte)."
    assert is_vietnamese(done.stderr)
    assert done.stdout == ""
    assert not (tmp_path / "out.pdf").exists()


def _ingest(data_dir: Path, *files: Path, wait: bool) -> dict[str, Any]:
    flags = ["--wait", "--timeout", "150"] if wait else []
    result: dict[str, Any] = _json(data_dir, "ingest", "--procedure", LAND, "--applicant-id",
                                   OWNER_ID, "--applicant-name", OWNER, *files, *flags)
    return result


def test_ingest_with_wait_digitises_each_file_as_a_paper(installed: Path,
                                                         scans: dict[str, Path]) -> None:
    result = _ingest(installed, scans["don-1.png"], scans["don-2.png"], wait=True)
    assert DOSSIER_CODE.match(result["dossier_code"])
    documents = result["documents"]
    # One paper per file, in the order of the procedure's components.
    types = [c.document_type for c in PROCEDURES[0].components[:2]]
    assert [d["component"] for d in documents] == ["DON", "GTNGUONGOC"]
    for document, document_type in zip(documents, types, strict=True):
        assert re.fullmatch(rf"000\.00\.15\.H40_{document_type}_\d{{6}}_V1",
                            document["document_id"])
    for document in documents:
        assert (document["status"], document["job"], document["pages"]) == ("ready", "done", 1)
        assert document["failure"] is None
        assert 0 < document["mean_confidence"] <= 100
        assert document["pages_to_review"] == ([1] if document["mean_confidence"] < 80 else [])
        assert unicodedata.is_normalized("NFC", document["text"])
        assert OWNER in document["text"]
        assert OWNER_ID in document["text"]

    shown = _json(installed, "dossier", "show", result["dossier_code"])
    assert (shown["applicant_id"], shown["applicant_name"], shown["procedure_code"]) == (
        OWNER_ID, OWNER, LAND)


def test_ingest_without_wait_queues_and_a_later_run_finishes_it(
        installed: Path, scans: dict[str, Path]) -> None:
    queued = _ingest(installed, scans["don-1.png"], wait=False)
    [early] = queued["documents"]
    assert (early["status"], early["job"], early["pages"], early["text"]) == (
        "processing", "queued", 1, "")
    assert early["mean_confidence"] is None

    # The database is the queue: the next command that runs jobs takes the waiting one too.
    later = _ingest(installed, scans["quyet-dinh.png"], wait=True)
    assert later["dossier_code"] != queued["dossier_code"]
    assert later["documents"][0]["status"] == "ready"
    done = _json(installed, "document", "show", early["doc_code"])
    assert (done["status"], done["job"], done["pages"]) == ("ready", "done", 1)
    assert done["progress"] == {"pages_done": 1, "pages_total": 1, "attempts": 1,
                                "last_error": None}
    assert OWNER in done["text"]
