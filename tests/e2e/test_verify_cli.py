"""``motcua verify`` and ``motcua archive extend`` on the result the demo seals, run as an
operator runs them: exit 0 only when every signature passes, a forged byte caught, a later
legitimate signature accepted, and the archive timestamp raising the level to B-LTA."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from signing import AttachmentAppearance, DemoPki, make_timestamper, sign_attachment_seal
from tests.fixtures.app import MOTCUA, cli_env, make_services, motcua_at_once
from tests.fixtures.demo import DemoRun, demo_copy
from tests.fixtures.pki import forged_result

pytestmark = pytest.mark.e2e

SIGNER = "Nguyễn Văn Hùng"
AGENCY_NAME = "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh"
WARD_CODE = "000.01.02.H40"
WARD_NAME = "Ủy ban nhân dân phường Hạ Long"
NOT_A_PDF = "Tệp không phải là văn bản PDF đọc được."


@dataclass(frozen=True)
class Demo:
    data_dir: Path
    result_pdf: Path
    result_code: str


def _motcua(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOTCUA), *args], env=cli_env(data_dir), cwd=data_dir,
                          capture_output=True, text=True, timeout=180, check=False)


def _json(data_dir: Path, *args: str, exit_code: int = 0) -> Any:
    done = _motcua(data_dir, *args, "--json")
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    return json.loads(done.stdout)


def _verify(data_dir: Path, pdf: Path, *, exit_code: int
            ) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """``motcua verify`` with ``--json`` and without, both at once (they only read): the
    report, which must come with ``exit_code``, and the run that printed text."""
    as_json, as_text = motcua_at_once(data_dir, ["verify", pdf, "--json"], ["verify", pdf],
                                      timeout=180)
    assert as_json.returncode == exit_code, (as_json.stdout, as_json.stderr)
    report: dict[str, Any] = json.loads(as_json.stdout)
    return report, as_text


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    copy = demo_copy(demo_run, tmp_path_factory.mktemp("demo"))
    data_dir, summary = copy.data_dir, copy.summary
    return Demo(data_dir=data_dir, result_pdf=Path(summary["result_pdf"]),
                result_code=summary["result_code"])


def _copy(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _summary(report: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(s["field"], s["signer"], s["indication"], s["level"])
            for s in report["signatures"]]


def test_the_sealed_result_verifies(demo: Demo) -> None:
    report, text = _verify(demo.data_dir, demo.result_pdf, exit_code=0)
    assert (report["outcome"], report["message"]) == (
        "all_passed", "Tất cả chữ ký số trên văn bản đều hợp lệ.")
    assert _summary(report) == [
        ("ChuKyNguoiCoThamQuyen", SIGNER, "TOTAL-PASSED", "B-LT"),
        ("DauCoQuan", AGENCY_NAME, "TOTAL-PASSED", "B-LT")]
    assert [(s["kind"], s["chain"], s["intact"], s["changes_acceptable"])
            for s in report["signatures"]] == [("personal", "trusted", True, True),
                                               ("organisation", "trusted", True, True)]
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == "Tất cả chữ ký số trên văn bản đều hợp lệ."
    assert f"- {SIGNER} ({AGENCY_NAME}): Hợp lệ" in text.stdout


def test_one_changed_byte_fails_verification(demo: Demo, tmp_path: Path) -> None:
    forged = _copy(tmp_path, "forged.pdf", forged_result(demo.result_pdf.read_bytes()))
    report, text = _verify(demo.data_dir, forged, exit_code=1)
    assert report["outcome"] != "all_passed"
    personal = report["signatures"][0]
    assert (personal["signer"], personal["indication"], personal["intact"]) == (
        SIGNER, "TOTAL-FAILED", False)
    assert text.returncode == 1


def test_a_later_legitimate_signature_keeps_the_earlier_ones_valid(
        demo: Demo, tmp_path: Path) -> None:
    pki = DemoPki.load(demo.data_dir / "pki")
    with pki.credential(WARD_CODE) as ward:
        signed = sign_attachment_seal(
            demo.result_pdf.read_bytes(), ward, field_name="XacNhanPhuong",
            appearance=AttachmentAppearance(), timestamper=make_timestamper(pki.tsa_config()),
            validation=pki.validation_setup())
    later = _copy(tmp_path, "later.pdf", signed)
    report = _json(demo.data_dir, "verify", str(later))
    assert report["outcome"] == "all_passed"
    assert [(s["field"], s["signer"], s["indication"]) for s in report["signatures"]] == [
        ("ChuKyNguoiCoThamQuyen", SIGNER, "TOTAL-PASSED"),
        ("DauCoQuan", AGENCY_NAME, "TOTAL-PASSED"),
        ("XacNhanPhuong", WARD_NAME, "TOTAL-PASSED")]
    assert [s["changes_acceptable"] for s in report["signatures"]] == [True, True, True]


def test_a_file_that_is_no_pdf_is_refused(demo: Demo, tmp_path: Path) -> None:
    text = _copy(tmp_path, "ghi-chu.txt", "Không phải PDF.\n".encode())
    report, done = _verify(demo.data_dir, text, exit_code=1)
    assert (done.returncode, done.stdout.strip()) == (1, NOT_A_PDF)
    assert (report["outcome"], report["message"], report["signatures"]) == (
        "not_a_pdf", NOT_A_PDF, [])


def test_archive_extension_raises_the_result_to_b_lta(demo: Demo, tmp_path: Path) -> None:
    done = _json(demo.data_dir, "archive", "extend", "--code", demo.result_code)
    assert done == {"extended": [demo.result_code], "failed": []}
    services = make_services(demo.data_dir)
    try:
        with services.records.store.session(readonly=True) as tx:
            result = tx.get_result(demo.result_code)
        assert result is not None
        extended = services.blobs.get(result.blob_sha256)
    finally:
        services.close()
    original = demo.result_pdf.read_bytes()
    assert extended.startswith(original)  # an incremental update: the signed bytes stay
    path = _copy(tmp_path, "archived.pdf", extended)
    report = _json(demo.data_dir, "verify", str(path))
    assert report["outcome"] == "all_passed"
    assert _summary(report) == [
        ("ChuKyNguoiCoThamQuyen", SIGNER, "TOTAL-PASSED", "B-LTA"),
        ("DauCoQuan", AGENCY_NAME, "TOTAL-PASSED", "B-LTA")]
    assert [t["indication"] for t in report["document_timestamps"]] == ["TOTAL-PASSED"]
