"""``ocr_command`` refuses a bad input before any OCR: exit 2 and the Vietnamese reason."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from ocr_pipeline.cli import EXIT_REFUSED, ocr_command

pytestmark = pytest.mark.unit


def png(path: Path) -> Path:
    Image.new("RGB", (40, 30), "white").save(path, dpi=(300, 300))
    return path


def test_an_empty_file_among_good_ones_refuses_the_lot(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "trang-2.pdf"
    empty.write_bytes(b"")
    out = tmp_path / "out.pdf"
    assert ocr_command([png(tmp_path / "trang-1.png"), empty], out, None, False) == EXIT_REFUSED
    assert capsys.readouterr().err.strip() == "trang-2.pdf: Tệp rỗng (0 byte)."
    assert not out.exists()


def test_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.pdf"
    assert ocr_command([tmp_path / "không-có.png"], out, None, True) == EXIT_REFUSED
    assert "Không tìm thấy tệp" in capsys.readouterr().err


def test_a_signed_pdf_is_not_ocrd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    value = pikepdf.Dictionary(Type=pikepdf.Name.Sig, ByteRange=[0, 1, 2, 3])
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=[pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, V=value))])
    buffer = io.BytesIO()
    pdf.save(buffer)
    signed = tmp_path / "ket-qua.pdf"
    signed.write_bytes(buffer.getvalue())
    assert ocr_command([signed], tmp_path / "out.pdf", None, False) == EXIT_REFUSED
    assert "đã được ký số" in capsys.readouterr().err
