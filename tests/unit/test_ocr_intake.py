"""Intake refuses what must not reach OCR, with a stable code and a Vietnamese message.

Every bad file is built here, in bytes: nothing is read from fixtures on disk.
"""

from __future__ import annotations

import io
import re
import struct
import time
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from ocr_pipeline.intake import (
    Inspection,
    IntakeLimits,
    Refusal,
    RefusalCode,
    inspect_upload,
    sniff_media_type,
)

pytestmark = pytest.mark.unit

# Letters only Vietnamese uses among Latin scripts: a message without any is not Vietnamese.
VIETNAMESE = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def refused(verdict: Inspection | Refusal, code: RefusalCode) -> Refusal:
    assert isinstance(verdict, Refusal), verdict
    assert verdict.code is code, verdict
    assert verdict.message == unicodedata.normalize("NFC", verdict.message)
    assert VIETNAMESE & set(verdict.message.lower()), verdict.message
    return verdict


def accepted(verdict: Inspection | Refusal) -> Inspection:
    assert isinstance(verdict, Inspection), verdict
    return verdict


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def png_bytes(size: tuple[int, int] = (40, 30), dpi: int | None = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buffer, "PNG",
                                                 **({"dpi": (dpi, dpi)} if dpi else {}))
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (800, 600)) -> bytes:
    buffer = io.BytesIO()
    # Noise, so the entropy-coded data is long and a cut falls inside it.
    Image.effect_noise(size, 60).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def pdf_bytes(build: Callable[[pikepdf.Pdf], None], **save: object) -> bytes:
    pdf = pikepdf.new()
    build(pdf)
    buffer = io.BytesIO()
    pdf.save(buffer, **save)  # type: ignore[arg-type]
    return buffer.getvalue()


def text_pages(pdf: pikepdf.Pdf, count: int = 3) -> None:
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font,
                                                Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for number in range(count):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(
            f"BT /F1 12 Tf 72 720 Td (Trang {number}) Tj ET\n".encode() * 40)


def plain_pdf(**save: object) -> bytes:
    # A classic xref table (no object streams) so the tests can find and break offsets.
    return pdf_bytes(text_pages, compress_streams=False,
                     object_stream_mode=pikepdf.ObjectStreamMode.disable, **save)


# --- type from bytes ---------------------------------------------------------------------


@pytest.mark.parametrize(("head", "expected"), [
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\x00" * 300 + b"%PDF-1.4", "application/pdf"),  # bytes before the header are allowed
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (b"II+\x00\x08\x00\x00\x00", None),  # BigTIFF
    (b"PK\x03\x04", None),  # a .docx
    (b"GIF89a", None),
    (b"", None),
])
def test_sniff_media_type(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected


def test_zero_bytes(tmp_path: Path) -> None:
    verdict = refused(inspect_upload(write(tmp_path, "scan.pdf", b"")), RefusalCode.EMPTY)
    assert verdict.message == "Tệp rỗng (0 byte)."


def test_a_png_named_pdf_is_a_png(tmp_path: Path) -> None:
    inspection = accepted(inspect_upload(write(tmp_path, "scan.pdf", png_bytes())))
    assert inspection.media_type == "image/png"
    assert (inspection.width_px, inspection.height_px, inspection.page_count) == (40, 30, 1)
    assert inspection.dpi is not None
    assert inspection.dpi == pytest.approx((300, 300), abs=0.1)


def test_a_jpeg_named_pdf_is_a_jpeg(tmp_path: Path) -> None:
    inspection = accepted(inspect_upload(write(tmp_path, "scan.pdf", jpeg_bytes())))
    assert inspection.media_type == "image/jpeg"
    assert not inspection.has_text
    assert not inspection.signed


def test_unsupported_type(tmp_path: Path) -> None:
    verdict = refused(inspect_upload(write(tmp_path, "scan.pdf", b"PK\x03\x04" + b"\0" * 99)),
                      RefusalCode.UNSUPPORTED_TYPE)
    assert "PDF, JPEG, PNG" in verdict.message


def test_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "scan.png", png_bytes((400, 400)))
    verdict = refused(inspect_upload(path, IntakeLimits(max_bytes=100)), RefusalCode.TOO_LARGE)
    assert "MB" in verdict.message


# --- PDF ---------------------------------------------------------------------------------


def test_a_sound_pdf_with_text(tmp_path: Path) -> None:
    inspection = accepted(inspect_upload(write(tmp_path, "a.pdf", plain_pdf())))
    assert inspection.media_type == "application/pdf"
    assert inspection.page_count == 3
    assert inspection.has_text
    assert inspection.text_pages == (1, 2, 3)
    assert not inspection.signed
    assert not inspection.repaired


def test_a_scanned_pdf_has_no_text(tmp_path: Path) -> None:
    def scanned(pdf: pikepdf.Pdf) -> None:
        page = pdf.add_blank_page(page_size=(595, 842))
        image = pikepdf.Stream(pdf, zlib.compress(b"\xff" * 30 * 20), Type=pikepdf.Name.XObject,
                               Subtype=pikepdf.Name.Image, Width=30, Height=20,
                               ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                               Filter=pikepdf.Name.FlateDecode)
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.obj.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")

    inspection = accepted(inspect_upload(write(tmp_path, "scan.pdf", pdf_bytes(scanned))))
    assert not inspection.has_text
    assert inspection.text_pages == ()


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.1])
def test_a_truncated_pdf_is_corrupt(tmp_path: Path, fraction: float) -> None:
    data = plain_pdf()
    path = write(tmp_path, "cut.pdf", data[:int(len(data) * fraction)])
    refused(inspect_upload(path), RefusalCode.PDF_CORRUPT)


def test_a_pdf_missing_its_middle_is_corrupt(tmp_path: Path) -> None:
    # qpdf rebuilds the file but the pages whose content was in the hole come out blank.
    data = plain_pdf()
    third = len(data) // 3
    path = write(tmp_path, "hole.pdf", data[:third] + data[2 * third:])
    refused(inspect_upload(path), RefusalCode.PDF_CORRUPT)


def test_garbage_after_a_pdf_header_is_corrupt(tmp_path: Path) -> None:
    path = write(tmp_path, "junk.pdf", b"%PDF-1.7\n" + b"junk " * 2000 + b"\n%%EOF\n")
    verdict = refused(inspect_upload(path), RefusalCode.PDF_CORRUPT)
    assert verdict.message.startswith("Tệp PDF bị hỏng")


def test_a_broken_xref_is_repaired_by_qpdf_and_accepted(tmp_path: Path) -> None:
    """Every offset in the xref table points at byte 100. qpdf notices, rebuilds the table
    by scanning the file, and finds all three pages with their text: the upload is whole,
    so it is accepted, flagged ``repaired``, in bounded time."""
    data = plain_pdf().decode("latin-1")
    table = data.rindex("\nxref")
    broken = data[:table] + re.sub(r"\d{10} 00000 n", "0000000100 00000 n", data[table:])
    assert broken != data
    started = time.monotonic()
    inspection = accepted(inspect_upload(write(tmp_path, "xref.pdf",
                                               broken.encode("latin-1"))))
    assert time.monotonic() - started < 2.0
    assert inspection.repaired
    assert inspection.page_count == 3
    assert inspection.text_pages == (1, 2, 3)


@pytest.mark.parametrize("user_password", ["mật-khẩu", ""])
def test_an_encrypted_pdf(tmp_path: Path, user_password: str) -> None:
    """With a user password, or with only an owner password (opens, but is encrypted)."""
    data = plain_pdf(encryption=pikepdf.Encryption(owner="chủ", user=user_password))
    verdict = refused(inspect_upload(write(tmp_path, "locked.pdf", data)),
                      RefusalCode.PDF_ENCRYPTED)
    assert "mã hóa" in verdict.message


def many_pages(count: int, *, declared: int | None = None) -> Callable[[pikepdf.Pdf], None]:
    def build(pdf: pikepdf.Pdf) -> None:
        pdf.add_blank_page(page_size=(595, 842))
        root = pdf.Root.Pages
        contents = pdf.make_stream(b"")  # one shared content stream: the file stays small
        root.Kids = pikepdf.Array([
            pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Page, Parent=root,
                                                 MediaBox=[0, 0, 595, 842], Contents=contents))
            for _ in range(count)])
        root.Count = count if declared is None else declared
    return build


def test_ten_thousand_pages_are_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, "big.pdf", pdf_bytes(many_pages(10_000)))
    started = time.monotonic()
    verdict = refused(inspect_upload(path), RefusalCode.TOO_MANY_PAGES)
    assert time.monotonic() - started < 1.0  # /Count is read; no page is loaded
    assert "10000 trang" in verdict.message
    assert "500" in verdict.message


def test_a_page_tree_that_understates_its_count_is_still_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "liar.pdf", pdf_bytes(many_pages(600, declared=1)))
    refused(inspect_upload(path), RefusalCode.TOO_MANY_PAGES)


def test_a_pdf_without_pages(tmp_path: Path) -> None:
    refused(inspect_upload(write(tmp_path, "none.pdf", pdf_bytes(lambda pdf: None))),
            RefusalCode.PDF_NO_PAGES)


def test_a_pdf_image_over_the_pixel_limit_is_refused_without_decoding(tmp_path: Path) -> None:
    def bomb(pdf: pikepdf.Pdf) -> None:
        page = pdf.add_blank_page(page_size=(595, 842))
        # Claims 30000 x 30000 pixels; the stream is a few bytes and is never decoded.
        image = pikepdf.Stream(pdf, zlib.compress(b"\0" * 64), Type=pikepdf.Name.XObject,
                               Subtype=pikepdf.Name.Image, Width=30_000, Height=30_000,
                               ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                               Filter=pikepdf.Name.FlateDecode)
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.obj.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")

    verdict = refused(inspect_upload(write(tmp_path, "bomb.pdf", pdf_bytes(bomb))),
                      RefusalCode.IMAGE_TOO_LARGE)
    assert verdict.message.startswith("Trang 1 chứa ảnh quá lớn")


def test_a_page_too_large_to_rasterise(tmp_path: Path) -> None:
    def poster(pdf: pikepdf.Pdf) -> None:
        pdf.add_blank_page(page_size=(14_400, 14_400))  # 200 x 200 inches

    refused(inspect_upload(write(tmp_path, "poster.pdf", pdf_bytes(poster))),
            RefusalCode.PAGE_TOO_LARGE)


def signature_field(pdf: pikepdf.Pdf, *, signed: bool) -> None:
    text_pages(pdf, 1)
    field = pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("Chữ ký 1"),
                               Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget,
                               Rect=[0, 0, 0, 0], P=pdf.pages[0].obj)
    if signed:
        field.V = pikepdf.Dictionary(Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"),
                                     ByteRange=[0, 100, 200, 300],
                                     Contents=pikepdf.String(b"\0" * 64))
    field = pdf.make_indirect(field)
    pdf.pages[0].obj.Annots = pikepdf.Array([field])
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]), SigFlags=3)


@pytest.mark.parametrize("signed", [True, False])
def test_a_signature_field_with_a_byte_range_marks_the_pdf_signed(tmp_path: Path,
                                                                  signed: bool) -> None:
    data = pdf_bytes(lambda pdf: signature_field(pdf, signed=signed))
    inspection = accepted(inspect_upload(write(tmp_path, "signed.pdf", data)))
    assert inspection.signed is signed  # an empty signature field signs nothing


# --- images ------------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A 1-bit greyscale PNG of one colour: a huge image that zlib squeezes to kilobytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    row = b"\0" + b"\0" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (20_000, 15_000)])
def test_a_decompression_bomb_png_is_refused_from_its_header(tmp_path: Path, width: int,
                                                            height: int) -> None:
    """900 Mpx trips Pillow's own guard (over twice the limit); 300 Mpx our explicit check."""
    data = png_claiming(width, height)
    assert len(data) < 1_000_000  # while decoding would need 112 MB or more
    path = write(tmp_path, "bomb.png", data)
    started = time.monotonic()
    verdict = refused(inspect_upload(path), RefusalCode.IMAGE_TOO_LARGE)
    assert time.monotonic() - started < 1.0
    assert "triệu điểm ảnh" in verdict.message


def test_the_pillow_limit_is_restored_after_inspection(tmp_path: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    inspect_upload(write(tmp_path, "bomb.png", png_claiming(30_000, 30_000)))
    assert before == Image.MAX_IMAGE_PIXELS


def test_a_truncated_jpeg_is_corrupt(tmp_path: Path) -> None:
    data = jpeg_bytes()
    verdict = refused(inspect_upload(write(tmp_path, "cut.jpg", data[:len(data) * 2 // 3])),
                      RefusalCode.IMAGE_CORRUPT)
    assert verdict.detail


def test_a_truncated_png_is_corrupt(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).save(buffer, "PNG")
    data = buffer.getvalue()
    refused(inspect_upload(write(tmp_path, "cut.png", data[:len(data) // 2])),
            RefusalCode.IMAGE_CORRUPT)


def multi_page_tiff(frames: int) -> bytes:
    buffer = io.BytesIO()
    pages = [Image.new("L", (50, 70), 255 - 10 * n) for n in range(frames)]
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], dpi=(200, 200))
    return buffer.getvalue()


def test_a_multi_frame_tiff_counts_frames_as_pages(tmp_path: Path) -> None:
    path = write(tmp_path, "pages.tif", multi_page_tiff(3))
    inspection = accepted(inspect_upload(path))
    assert (inspection.media_type, inspection.page_count) == ("image/tiff", 3)
    refused(inspect_upload(path, IntakeLimits(max_pages=2)), RefusalCode.TOO_MANY_PAGES)


def test_an_image_without_dpi_says_so(tmp_path: Path) -> None:
    inspection = accepted(inspect_upload(write(tmp_path, "a.png", png_bytes(dpi=None))))
    assert inspection.dpi is None
