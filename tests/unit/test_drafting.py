"""The draft e-result: layout, PDF/A-2b, text, QR code, signature boxes, determinism.

pdftotext (poppler-utils) reads the text back; the QR code cannot be decoded here (no
decoder is installed), so the tests check that the PNG handed in is the image drawn at the
bottom left of the last page, pixel for pixel.
"""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pikepdf
import pytest
from fpdf import FPDF
from pikepdf.pdfa import validate_written
from PIL import Image

from signing.drafting import RenderedResult, ResultSpec, place_date_line, render_result
from signing.pdfa import PdfaConversionError, is_pdfa2, make_pdfa2b
from signing.qr import (
    digest_matches,
    parse_result_code,
    qr_png,
    result_code,
    verification_digest,
    verification_url,
)

pytestmark = pytest.mark.unit

MM = 72 / 25.4
A4_W, A4_H = 210 * MM, 297 * MM
KEY = b"test-key-0123456789abcdef"
CODE = "KQ-000.00.12.H40-2026-000125"
SHA_A, SHA_B = "a" * 64, "b" * 64
CONSIDERING = ("Xét đề nghị của ông Nguyễn Văn Ánh, trú tại thôn Đồng Tâm, xã Quảng Đức, "
               "tỉnh Quảng Ninh, về việc cấp giấy phép khai thác nước dưới đất.")
LAST = "Quyết định này có hiệu lực kể từ ngày ký./."


def make_spec(paragraphs: int = 3, **changes: object) -> ResultSpec:
    body = ("Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ;",
            CONSIDERING) * paragraphs + (LAST,)
    url = verification_url("https://dichvucong.quangninh.gov.vn", CODE,
                           verification_digest(key=KEY, result_code=CODE, content_sha256=SHA_A))
    spec = ResultSpec(
        parent_agency="UBND TỈNH QUẢNG NINH", agency="SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG",
        number="125/QĐ-SNNMT", place="Quảng Ninh", issue_date=date(2026, 11, 22),
        title="QUYẾT ĐỊNH", subject="Về việc cấp giấy phép khai thác nước dưới đất",
        body=body, recipients=("Như Điều 3;", "Lưu: VT, TNN."),
        signer_titles=("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"),
        signer_name=unicodedata.normalize("NFD", "Trần Thị Hương"),  # NFC on the page
        result_code=CODE, qr_png=qr_png(url))
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def short() -> RenderedResult:
    return render_result(make_spec())


@pytest.fixture(scope="module")
def long() -> RenderedResult:
    return render_result(make_spec(paragraphs=9))


def pdftotext(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "result.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def page_text(pdf: bytes, tmp_path: Path, page: int) -> str:
    return " ".join(pdftotext(pdf, tmp_path, "-raw", "-f", str(page), "-l", str(page)).split())


# PDF/A-2b


def test_the_result_opens_and_declares_and_passes_pdfa_2b(short: RenderedResult) -> None:
    assert is_pdfa2(short.pdf)
    with pikepdf.open(io.BytesIO(short.pdf)) as pdf:
        assert len(pdf.pages) == short.page_count == 1
        assert pdf.docinfo["/Title"] == "QUYẾT ĐỊNH 125/QĐ-SNNMT"
        meta = pdf.open_metadata()
        assert meta["dc:title"] == "QUYẾT ĐỊNH 125/QĐ-SNNMT"
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        assert str(pdf.Root.Lang) == "vi-VN"
        assert pdf.Root.OutputIntents[0].S == pikepdf.Name.GTS_PDFA1
        assert "/ID" in pdf.trailer
    report = validate_written(io.BytesIO(short.pdf), "2b")
    assert report.passed, report.summary()


def test_every_font_is_embedded(short: RenderedResult) -> None:
    with pikepdf.open(io.BytesIO(short.pdf)) as pdf:
        fonts = list(pdf.pages[0].Resources.Font.values())
        assert len(fonts) == 4  # regular, bold, italic, bold italic
        for font in fonts:
            descriptor = font.DescendantFonts[0].FontDescriptor
            assert "/FontFile2" in descriptor, font.BaseFont
            assert "NotoSerif" in str(font.BaseFont)


def test_a_plain_pdf_is_not_pdfa_and_a_core_font_is_refused() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="not embedded")
    raw = bytes(pdf.output())
    assert not is_pdfa2(raw)
    with pytest.raises(PdfaConversionError, match="not embedded"):
        make_pdfa2b(raw, title="t", author="a", subject="s", created=datetime.now(UTC))


# Text


def test_the_text_reads_back_exactly_with_its_diacritics(short: RenderedResult,
                                                         tmp_path: Path) -> None:
    raw = pdftotext(short.pdf, tmp_path, "-raw")
    assert raw == unicodedata.normalize("NFC", raw)
    text = " ".join(raw.split())
    for expected in ("UBND TỈNH QUẢNG NINH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", "Số: 125/QĐ-SNNMT",
                     "Quảng Ninh, ngày 22 tháng 11 năm 2026", "QUYẾT ĐỊNH",
                     "Về việc cấp giấy phép khai thác nước dưới đất", CONSIDERING, LAST,
                     "Nơi nhận:", "- Như Điều 3;", "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC",
                     "Trần Thị Hương", f"Mã kết quả: {CODE} — quét mã QR để xác minh"):
        assert expected in text, expected
    lines = raw.splitlines()
    assert lines[1:3] == ["SỞ NÔNG NGHIỆP", "VÀ MÔI TRƯỜNG"]  # wrapped evenly


def test_place_and_date_take_leading_zeros_for_small_days_and_early_months() -> None:
    assert place_date_line("Hạ Long", date(2026, 2, 5)) == "Hạ Long, ngày 05 tháng 02 năm 2026"
    assert place_date_line("Hạ Long", date(2026, 3, 9)) == "Hạ Long, ngày 09 tháng 3 năm 2026"


# QR code and signature boxes


def _image_at(pdf: pikepdf.Pdf, page: int) -> tuple[Image.Image, list[float]]:
    """The one image on ``page`` (0-based) and its cm matrix."""
    cms = [[float(v) for v in op.operands] for op in pikepdf.parse_content_stream(
        pdf.pages[page]) if str(op.operator) == "cm"]
    (name, xobject), = pdf.pages[page].Resources.XObject.items()
    assert name == "/I1"
    assert isinstance(xobject, pikepdf.Stream)
    return pikepdf.PdfImage(xobject).as_pil_image(), cms[-1]


def test_the_qr_png_is_drawn_at_the_bottom_left_of_the_last_page(long: RenderedResult) -> None:
    spec = make_spec(paragraphs=9)
    with pikepdf.open(io.BytesIO(long.pdf)) as pdf:
        assert "/XObject" not in pdf.pages[0].Resources
        image, (w, _b, _c, h, x, y) = _image_at(pdf, long.page_count - 1)
    expected = Image.open(io.BytesIO(spec.qr_png)).convert("L")
    assert image.convert("L").tobytes() == expected.tobytes()
    assert w == pytest.approx(h)
    assert 18 * MM <= w <= 25 * MM
    assert (x, y) == pytest.approx((30 * MM, 20 * MM), abs=0.1)


def test_the_boxes_lie_inside_the_margins_and_the_seal_covers_the_left_third(
        short: RenderedResult, tmp_path: Path) -> None:
    x1, y1, x2, y2 = short.personal_box
    assert 30 * MM <= x1 < x2 <= A4_W - 15 * MM
    assert 20 * MM <= y1 < y2 <= A4_H - 20 * MM
    assert x2 - x1 >= 70 * MM - 0.1
    assert y2 - y1 >= 30 * MM - 0.1
    s1, t1, s2, t2 = short.seal_box
    assert (t1, t2) == (y1, y2)
    assert 30 * MM <= s1 < x1  # extended a little to the left
    assert s2 == pytest.approx(x1 + (x2 - x1) / 3, abs=0.1)
    html = pdftotext(short.pdf, tmp_path, "-bbox")
    words = [(float(a), A4_H - float(d), float(c), A4_H - float(b), text) for a, b, c, d, text
             in re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                           r'yMax="([\d.]+)">([^<]*)<', html)]
    inside = [w for w in words if w[0] < x2 and w[2] > x1 and w[1] < y2 and w[3] > y1]
    assert inside == []  # the stamp area is empty
    name = next(w for w in words if w[4] == "Hương")
    title = next(w for w in words if w[4] == "PHÓ")
    assert name[3] <= y1  # the name below the stamp area
    assert title[1] >= y2  # the title above it
    assert x1 < name[0] < x2


def test_a_long_body_flows_and_keeps_the_signature_block_whole_on_the_last_page(
        long: RenderedResult, tmp_path: Path) -> None:
    assert long.page_count == long.signature_page == 2
    assert long.personal_box[1] > 20 * MM
    first, second = page_text(long.pdf, tmp_path, 1), page_text(long.pdf, tmp_path, 2)
    assert "KT. GIÁM ĐỐC" not in first
    assert "Nơi nhận:" not in first
    for part in ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị Hương", "Nơi nhận:", CODE):
        assert part in second
    assert LAST in second  # the signature never stands alone on a page
    assert second.startswith("2 ")  # page numbers from page 2


def test_the_last_paragraph_moves_with_the_signature_block_rather_than_leave_it_alone(
        tmp_path: Path) -> None:
    result = render_result(make_spec(paragraphs=4))
    assert result.page_count == result.signature_page == 2
    first = page_text(result.pdf, tmp_path, 1)
    assert first.endswith(CONSIDERING)  # page 1 ends on a whole paragraph ...
    assert page_text(result.pdf, tmp_path, 2).startswith(f"2 {LAST}")
    html = pdftotext(result.pdf, tmp_path, "-bbox", "-f", "1", "-l", "1")
    lowest = max(float(v) for v in re.findall(r'yMax="([\d.]+)"', html))
    assert A4_H - 20 * MM - lowest > 2 * 6.2 * MM  # ... though the one-line LAST would fit


# Determinism and the content hash


def test_rendering_twice_gives_the_same_bytes(short: RenderedResult) -> None:
    again = render_result(make_spec())
    assert again.pdf == short.pdf
    assert again.pdf_sha256 == short.pdf_sha256
    assert again.content_sha256 == short.content_sha256


def test_the_content_hash_ignores_the_qr_image_but_not_the_text(
        short: RenderedResult) -> None:
    other_qr = render_result(make_spec(qr_png=qr_png("https://example.org/x")))
    assert other_qr.content_sha256 == short.content_sha256
    assert other_qr.pdf != short.pdf
    other_name = render_result(make_spec(signer_name="Trần Thị Hường"))
    assert other_name.content_sha256 != short.content_sha256


def test_a_spec_without_body_or_with_a_bad_code_is_refused() -> None:
    with pytest.raises(ValueError, match="body"):
        make_spec(body=())
    with pytest.raises(ValueError, match="e-result code"):
        make_spec(result_code="KQ-1")


# Codes and digests


def test_the_result_code_has_the_chosen_format() -> None:
    assert result_code("000.00.12.H40", 2026, 125) == CODE
    assert result_code("G22", 2027, 999_999) == "KQ-G22-2027-999999"
    assert parse_result_code(CODE).seq == 125
    for agency, year, seq in (("000-12", 2026, 1), ("h40", 2026, 1), ("G22", 26, 1),
                              ("G22", 2026, 0), ("G22", 2026, 1_000_000)):
        with pytest.raises(ValueError, match=r"agency e-ID|year|sequence"):
            result_code(agency, year, seq)


def test_the_digest_is_stable_short_and_bound_to_key_code_and_content() -> None:
    digest = verification_digest(key=KEY, result_code=CODE, content_sha256=SHA_A)
    assert re.fullmatch(r"[A-Z2-7]{16}", digest)
    assert digest == verification_digest(key=KEY, result_code=CODE, content_sha256=SHA_A)
    assert digest == verification_digest(key=KEY, result_code=CODE,
                                         content_sha256=SHA_A.upper())
    assert digest != verification_digest(key=KEY, result_code=CODE, content_sha256=SHA_B)
    assert digest != verification_digest(key=KEY[::-1], result_code=CODE,
                                         content_sha256=SHA_A)
    assert digest != verification_digest(key=KEY, result_code=CODE[:-1] + "6",
                                         content_sha256=SHA_A)
    assert digest_matches(key=KEY, result_code=CODE, content_sha256=SHA_A,
                          digest=f" {digest.lower()} ")
    assert not digest_matches(key=KEY, result_code=CODE, content_sha256=SHA_B, digest=digest)
    assert not digest_matches(key=KEY, result_code=CODE, content_sha256=SHA_A, digest="đ")
    with pytest.raises(ValueError, match="key"):
        verification_digest(key=b"short", result_code=CODE, content_sha256=SHA_A)


def test_the_verification_url_and_the_qr_png() -> None:
    url = verification_url("https://dvc.example.vn/", CODE, "ABCDEFGHIJKLMNOP")
    assert url == f"https://dvc.example.vn/xac-minh/{CODE}?d=ABCDEFGHIJKLMNOP"
    with pytest.raises(ValueError, match="base URL"):
        verification_url("javascript:alert(1)", CODE, "A")
    image = Image.open(io.BytesIO(qr_png(url, scale=3)))
    assert image.format == "PNG"
    assert image.size[0] == image.size[1]
    assert image.size[0] % 3 == 0
