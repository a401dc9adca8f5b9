"""Signed results checked by other tools: qpdf's structure check and poppler's pdfsig with
the demo root in an NSS database (FINDINGS "Signing": pdfsig needs NSS to say trusted)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from signing import apply_seal, make_timestamper, seal_box_over, sign_personal
from tests.fixtures.pki import (
    PERSONAL_BOX,
    personal_appearance,
    sample_pdf,
    seal_appearance,
    shared_pki,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pki = shared_pki(lambda: tmp_path_factory.mktemp("pki"))
    setup, stamper = pki.validation_setup(), make_timestamper(pki.tsa_config())
    personal = sign_personal(sample_pdf(2), pki.credential("lanhdao"), field_name="ChuKyLanhDao",
                             box=PERSONAL_BOX, page=1, appearance=personal_appearance(),
                             timestamper=stamper, validation=setup)
    out = apply_seal(personal, pki.credential("SNNMT"), field_name="DauCoQuan",
                     box=seal_box_over(PERSONAL_BOX), page=1, appearance=seal_appearance(),
                     timestamper=stamper, validation=setup)
    folder = tmp_path_factory.mktemp("tools")
    (folder / "result.pdf").write_bytes(out)
    (folder / "root.pem").write_bytes(pki.root.public_bytes(Encoding.PEM))
    return folder / "result.pdf", folder / "root.pem"


def test_qpdf_finds_no_structural_error(sealed: tuple[Path, Path]) -> None:
    result = subprocess.run(["qpdf", "--check", str(sealed[0])], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_pdfsig_reports_both_signatures_valid_and_trusted(
    sealed: tuple[Path, Path], tmp_path: Path
) -> None:
    nss = f"sql:{tmp_path}"
    subprocess.run(["certutil", "-N", "-d", nss, "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", nss, "-n", "motcua-root", "-t", "CT,C,C",
                    "-i", str(sealed[1])], check=True)
    result = subprocess.run(["pdfsig", "-nssdir", nss, str(sealed[0])], capture_output=True,
                            text=True, check=False)
    output = result.stdout
    assert output.count("Signature Validation: Signature is Valid.") == 2, output
    assert output.count("Certificate Validation: Certificate is Trusted.") == 2, output
    assert "Trần Thị Bích Ngọc" in output
    assert "ETSI.CAdES.detached" in output
