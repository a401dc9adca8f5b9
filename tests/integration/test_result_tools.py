"""The result ``motcua demo`` seals, checked by other tools: qpdf's structure check and
poppler's pdfsig with the demo root in a fresh NSS database (a reader other than pyHanko
must find both signatures valid and the chain trusted)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.demo import DemoRun

pytestmark = pytest.mark.integration

SIGNER = "Nguyễn Văn Hùng"
AGENCY_NAME = "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh"


def _missing(*tools: str) -> str | None:
    absent = [tool for tool in tools if shutil.which(tool) is None]
    return f"not installed: {', '.join(absent)}" if absent else None


@pytest.fixture(scope="module")
def sealed(demo_run: DemoRun) -> tuple[Path, Path]:
    """The demo's sealed result and the demo root certificate (PEM); read only."""
    return Path(demo_run.summary["result_pdf"]), demo_run.data_dir / "pki" / "root.pem"


def test_qpdf_finds_no_structural_error(sealed: tuple[Path, Path]) -> None:
    # The Makefile installs these tools: their absence is a broken set-up, not a reason to skip.
    if reason := _missing("qpdf"):
        pytest.fail(f"{reason}: run make test, which installs Debian's qpdf")
    result = subprocess.run(["qpdf", "--check", str(sealed[0])], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout
    assert result.stderr == ""


def test_pdfsig_finds_both_signatures_valid_and_trusted(
        sealed: tuple[Path, Path], tmp_path: Path) -> None:
    if reason := _missing("pdfsig", "certutil"):
        pytest.fail(f"{reason}: run make test, which installs Debian's poppler-utils (pdfsig) "
                    "and libnss3-tools (certutil)")
    nss = f"sql:{tmp_path}"
    subprocess.run(["certutil", "-N", "-d", nss, "--empty-password"], check=True,
                   capture_output=True)
    subprocess.run(["certutil", "-A", "-d", nss, "-n", "root", "-t", "CT,C,C",
                    "-i", str(sealed[1])], check=True, capture_output=True)
    result = subprocess.run(["pdfsig", "-nssdir", nss, str(sealed[0])], capture_output=True,
                            text=True, check=False)
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    signatures = output.split("Signature #")[1:]
    assert len(signatures) == 2, output
    pdf = sealed[0].read_bytes()
    ranges = [[int(n) for n in found.groups()] for found in re.finditer(
        rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)]
    assert len(ranges) == 2
    assert ranges[1][2] + ranges[1][3] == len(pdf)  # the seal covers the whole file
    expected = (("ChuKyNguoiCoThamQuyen", SIGNER, "Not total document signed"),
                ("DauCoQuan", AGENCY_NAME, "Total document signed"))
    for block, (a, b, c, d), (field, name, coverage) in zip(signatures, ranges, expected,
                                                            strict=True):
        assert f"Signature Field Name: {field}" in block, block
        assert f"Signer Certificate Common Name: {name}" in block, block
        assert "Signature Type: ETSI.CAdES.detached" in block, block
        assert "Signature Validation: Signature is Valid." in block, block
        assert "Certificate Validation: Certificate is Trusted." in block, block
        assert f"Signed Ranges: [{a} - {a + b}], [{c} - {c + d}]" in block, block
        assert f"- {coverage}\n" in block, block
