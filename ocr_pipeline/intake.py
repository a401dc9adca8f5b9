"""Inspect an upload before anything processes it: type, size, pages, pixels, signature.

Every check reads headers and cross-reference data, never the whole document: the page
count comes from the page tree's /Count before any page is loaded, an image's size from its
header before any pixel is decoded. What is refused is a value (``Refusal``) with a stable
code and the Vietnamese sentence the clerk reads; nothing here raises for a bad upload.
"""

from __future__ import annotations

import mmap
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pikepdf
from PIL import Image

from ocr_pipeline import pdfguard, pdfscan

__all__ = [
    "MEDIA_TYPES",
    "Inspection",
    "IntakeLimits",
    "Refusal",
    "RefusalCode",
    "inspect_upload",
    "sniff_media_type",
]

MiB = 1 << 20
MEDIA_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff"})
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}
_pixel_limit_lock = threading.Lock()


class RefusalCode(StrEnum):
    EMPTY = "empty"
    UNSUPPORTED_TYPE = "unsupported_type"
    TOO_LARGE = "too_large"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_CORRUPT = "pdf_corrupt"
    PDF_NO_PAGES = "pdf_no_pages"
    TOO_MANY_PAGES = "too_many_pages"
    IMAGE_TOO_LARGE = "image_too_large"
    PAGE_TOO_LARGE = "page_too_large"
    IMAGE_CORRUPT = "image_corrupt"
    PDF_TOO_COMPLEX = "pdf_too_complex"
    PDF_ACTIVE_CONTENT = "pdf_active_content"
    POLYGLOT = "polyglot"


@dataclass(frozen=True, kw_only=True, slots=True)
class IntakeLimits:
    max_bytes: int = 100 * MiB
    max_pages: int = 500
    max_pixels: int = 250_000_000  # per image or page; as ocrmypdf's --max-image-mpixels
    max_content_bytes: int = 64 * MiB  # decoded drawing instructions of one page


@dataclass(frozen=True, kw_only=True, slots=True)
class Inspection:
    """An accepted upload. ``signed``: never modify it, keep its text beside it
    [Decree 30/2020; DOMAIN "Do not OCR a signed PDF"]."""

    media_type: str
    size_bytes: int
    page_count: int
    has_text: bool = False
    text_pages: tuple[int, ...] = ()  # 1-based pages that already carry text
    signed: bool = False
    repaired: bool = False  # qpdf had to rebuild a damaged cross-reference table
    width_px: int | None = None  # images: the first page
    height_px: int | None = None
    dpi: tuple[float, float] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Refusal:
    code: RefusalCode
    message: str  # Vietnamese, shown to the clerk as it is
    detail: str = ""  # technical, for the log


def sniff_media_type(head: bytes) -> str | None:
    """The media type from the first bytes of a file (give at least 1,024), or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in {b"II*\x00", b"MM\x00*"}:  # classic TIFF; BigTIFF is not accepted
        return "image/tiff"
    if b"%PDF-" in head[:1024]:  # ISO 32000-1 §7.5.2 allows bytes before the header
        return "application/pdf"
    return None


def inspect_upload(path: Path,
                   limits: IntakeLimits = IntakeLimits()) -> Inspection | Refusal:
    size = path.stat().st_size
    if size == 0:
        return Refusal(code=RefusalCode.EMPTY, message="Tệp rỗng (0 byte).")
    if size > limits.max_bytes:
        return Refusal(code=RefusalCode.TOO_LARGE,
                       message=f"Tệp quá lớn ({_mb(size)} MB); dung lượng tối đa là "
                               f"{_mb(limits.max_bytes)} MB.")
    with path.open("rb") as stream:
        media_type = sniff_media_type(stream.read(1024))
    if media_type is None:
        return Refusal(code=RefusalCode.UNSUPPORTED_TYPE,
                       message="Định dạng tệp không được hỗ trợ. Chỉ nhận tệp PDF, JPEG, PNG "
                               "hoặc TIFF.")
    if (polyglot := _polyglot(path, media_type)) is not None:
        return polyglot
    if media_type == "application/pdf":
        return _inspect_pdf(path, size, limits)
    return _inspect_image(path, size, media_type, limits)


_PNG_IEND = b"IEND\xaeB`\x82"  # the chunk type and its fixed CRC


def _polyglot(path: Path, media_type: str) -> Refusal | None:
    """A file that is also another format: bytes before a PDF's header (HTML, a ZIP) or
    after a PNG's IEND chunk. Readers disagree on what such a file is; a scanner never
    writes one, so it is refused rather than archived with a hidden second meaning."""
    with path.open("rb") as stream:
        head = stream.read(1024)
        trailing = 0
        if media_type == "image/png":
            # Bytes after the IEND chunk (its CRC is constant). No IEND at all is a truncated
            # image, refused later as corrupt, not a polyglot.
            with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as view:
                end = view.rfind(_PNG_IEND)
                trailing = len(view) - (end + len(_PNG_IEND)) if end >= 0 else 0
    hidden = ((media_type == "application/pdf" and head.lstrip(b"\r\n\t ").find(b"%PDF-") > 0)
              or trailing > 0)
    if not hidden:
        return None
    return Refusal(code=RefusalCode.POLYGLOT,
                   message="Tệp chứa dữ liệu lạ bên ngoài nội dung ảnh hoặc PDF (tệp "
                           "đa định dạng). Vui lòng quét hoặc xuất lại tệp.",
                   detail=f"{media_type} with bytes outside its structure")


def _inspect_pdf(path: Path, size: int, limits: IntakeLimits) -> Inspection | Refusal:
    if not pdfscan.has_eof_marker(path):
        return _corrupt("no %%EOF at the end: the file was cut short")
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        return _encrypted(str(exc))
    except Exception as exc:  # qpdf raises several types for damaged files
        return _corrupt(f"{type(exc).__name__}: {exc}")
    with pdf:
        if pdf.is_encrypted:  # an owner password only: still refused, ocrmypdf would too
            return _encrypted("owner password")
        try:
            return _check_pdf(pdf, size, limits)
        except Exception as exc:  # a broken page tree shows up here
            return _corrupt(f"{type(exc).__name__}: {exc}")


def _check_pdf(pdf: pikepdf.Pdf, size: int, limits: IntakeLimits) -> Inspection | Refusal:
    # /Count first: O(1), so a 10,000-page file is refused without walking its page tree.
    declared = pdfscan.declared_page_count(pdf)
    if declared is not None and declared > limits.max_pages:
        return _too_many_pages(declared, limits)
    count = len(pdf.pages)  # /Count may lie; the real tree is bounded by max_bytes
    if count > limits.max_pages:
        return _too_many_pages(count, limits)
    if count == 0:
        return Refusal(code=RefusalCode.PDF_NO_PAGES, message="Tệp PDF không có trang nào.")
    if (active := pdfguard.active_content(pdf)) is not None:
        return Refusal(code=RefusalCode.PDF_ACTIVE_CONTENT,
                       message="Tệp PDF chứa mã lệnh (JavaScript, lệnh tự chạy) hoặc tệp đính "
                               "kèm, không được nhận vào hồ sơ lưu trữ. Vui lòng nộp bản quét "
                               "hoặc bản in ra PDF không có các thành phần này.",
                       detail=active)
    text_pages: list[int] = []
    incomplete: list[int] = []
    for number, page in enumerate(pdf.pages, start=1):
        if pdfscan.missing_parts(page):
            incomplete.append(number)
        oversized = pdfscan.largest_image_pixels(page)
        if oversized > limits.max_pixels:
            return _image_too_large_pdf(number, oversized, limits)
        if (bomb := pdfguard.oversized_stream(page, limits.max_content_bytes)) is not None:
            # Before page_has_text: qpdf would inflate the whole stream in memory.
            return Refusal(code=RefusalCode.PDF_TOO_COMPLEX,
                           message=f"Trang {number} có dữ liệu nén bất thường (giải nén quá "
                                   "lớn), không thể xử lý an toàn. Vui lòng quét lại.",
                           detail=bomb)
        if pdfscan.page_pixels_at(page, dpi=300) > limits.max_pixels:
            return Refusal(code=RefusalCode.PAGE_TOO_LARGE,
                           message=f"Trang {number} có khổ giấy quá lớn để nhận dạng (vượt "
                                   f"{_mpx(limits.max_pixels)} triệu điểm ảnh ở 300 dpi).")
        if pdfscan.page_has_text(page):
            text_pages.append(number)
    signed = pdfscan.is_signed(pdf)
    repaired = bool(pdf.get_warnings())  # qpdf warns as it rebuilds, lazily: ask last
    if incomplete and repaired:
        # Pages that are empty in a file qpdf had to rebuild lost their content in the
        # damage; archiving them would drop paper pages [Circular 01/2023 Art. 8].
        return _corrupt(f"pages {incomplete} lost content in a damaged file")
    return Inspection(media_type="application/pdf", size_bytes=size, page_count=count,
                      has_text=bool(text_pages), text_pages=tuple(text_pages),
                      signed=signed, repaired=repaired)


def _inspect_image(path: Path, size: int, media_type: str,
                   limits: IntakeLimits) -> Inspection | Refusal:
    with _pillow_pixel_limit(limits.max_pixels):
        try:
            with Image.open(path, formats=[_PIL_FORMATS[media_type]]) as image:
                frames = int(getattr(image, "n_frames", 1))  # TIFF: walks IFDs, no decoding
                if frames > limits.max_pages:
                    return _too_many_pages(frames, limits)
                sizes = []
                for frame in range(frames):
                    image.seek(frame)
                    sizes.append(image.size)
                    if image.width * image.height > limits.max_pixels:
                        return _image_too_large(image.width, image.height, limits)
                image.seek(0)
                dpi = _dpi(image)
                for frame in range(frames):
                    _decode(image, frame)
        except Image.DecompressionBombError as exc:
            return Refusal(code=RefusalCode.IMAGE_TOO_LARGE,
                           message=f"Ảnh quá lớn; giới hạn là {_mpx(limits.max_pixels)} triệu "
                                   "điểm ảnh mỗi trang.", detail=str(exc))
        except Exception as exc:  # decoders raise OSError, SyntaxError, ...
            return Refusal(code=RefusalCode.IMAGE_CORRUPT,
                           message="Tệp ảnh bị hỏng hoặc không đầy đủ, không thể giải mã. Vui "
                                   "lòng quét hoặc tải lên lại.",
                           detail=f"{type(exc).__name__}: {exc}")
    return Inspection(media_type=media_type, size_bytes=size, page_count=frames,
                      width_px=sizes[0][0], height_px=sizes[0][1], dpi=dpi)


def _decode(image: Image.Image, frame: int) -> None:
    """Decode one frame to prove it is whole. A JPEG is decoded at 1/8 scale: libjpeg still
    reads every byte, so truncation shows, in 1/64 of the memory."""
    image.seek(frame)
    if image.format == "JPEG":
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
    image.load()


def _dpi(image: Image.Image) -> tuple[float, float] | None:
    dpi = image.info.get("dpi")
    if isinstance(dpi, tuple) and len(dpi) == 2 and all(float(v) > 0 for v in dpi):
        return float(dpi[0]), float(dpi[1])
    return None


@contextmanager
def _pillow_pixel_limit(limit: int) -> Iterator[None]:
    """Hold Pillow's decompression-bomb limit at ``limit`` while inspecting.

    ``Image.MAX_IMAGE_PIXELS`` is interpreter-global (ocrmypdf's API notes the same), so it
    is set under a lock and restored. Pillow raises above twice the limit and warns above
    it; the warning is silenced because the explicit size check refuses those images.
    """
    with _pixel_limit_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _encrypted(detail: str) -> Refusal:
    return Refusal(code=RefusalCode.PDF_ENCRYPTED,
                   message="Tệp PDF đã được mã hóa hoặc đặt mật khẩu. Vui lòng nộp bản không "
                           "mã hóa.", detail=detail)


def _corrupt(detail: str) -> Refusal:
    return Refusal(code=RefusalCode.PDF_CORRUPT,
                   message="Tệp PDF bị hỏng hoặc không đầy đủ, không thể đọc được. Vui lòng quét "
                           "hoặc tải lên lại.", detail=detail)


def _too_many_pages(count: int, limits: IntakeLimits) -> Refusal:
    return Refusal(code=RefusalCode.TOO_MANY_PAGES,
                   message=f"Tài liệu có {count} trang, vượt quá giới hạn {limits.max_pages} "
                           "trang. Vui lòng tách thành nhiều tệp.")


def _image_too_large(width: int, height: int, limits: IntakeLimits) -> Refusal:
    return Refusal(code=RefusalCode.IMAGE_TOO_LARGE,
                   message=f"Ảnh quá lớn ({width} × {height} điểm ảnh); giới hạn là "
                           f"{_mpx(limits.max_pixels)} triệu điểm ảnh mỗi trang.")


def _image_too_large_pdf(page: int, pixels: int, limits: IntakeLimits) -> Refusal:
    return Refusal(code=RefusalCode.IMAGE_TOO_LARGE,
                   message=f"Trang {page} chứa ảnh quá lớn ({_mpx(pixels)} triệu điểm ảnh); "
                           f"giới hạn là {_mpx(limits.max_pixels)} triệu điểm ảnh mỗi trang.")


def _mb(size: int) -> str:
    """Megabytes the Vietnamese way: a decimal comma (1,5 MB)."""
    return f"{size / MiB:.1f}".replace(".", ",").removesuffix(",0")


def _mpx(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}".replace(".", ",").removesuffix(",0")
