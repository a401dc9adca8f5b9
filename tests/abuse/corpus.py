"""The abuse corpus, made by code at test time: hostile uploads a clerk's scanner never makes.

Each builder returns the bytes of one file, small on disk however large it claims to be (the
bombs are compressed zeros). ``CASES`` lists them with the refusal code intake must give.
Also a script: ``python -m tests.abuse.corpus DIR`` writes every case into DIR.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image

__all__ = ["CASES", "Case", "GiB", "flate_zeros", "pdf_of_objects"]

MiB = 1 << 20
GiB = 1 << 30
_CHUNK = bytes(1 << 20)


@cache
def flate_zeros(size: int, fill: bytes = b"\x00") -> bytes:
    """``size`` bytes of ``fill`` (a multiple of 1 MiB) as one zlib stream, about 1,000 times
    smaller, made in milliseconds: after a full flush deflate forgets what came before, so
    every further MiB compresses to the same bytes (RFC 1950/1951)."""
    block = fill * len(_CHUNK)
    blocks, rest = divmod(size, len(block))
    if rest or not blocks:
        raise ValueError(f"{size} is not a positive multiple of 1 MiB")
    packer = zlib.compressobj(9)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    # Adler-32 of the whole, in closed form (RFC 1950 §9): a = 1 + sum, b = sum of the a's.
    f, mod = fill[0], 65521
    a = (1 + size * f) % mod
    b = (size + f * (size * (size + 1) // 2)) % mod
    return first + again * (blocks - 1) + b"\x03\x00" + struct.pack(">I", (b << 16) | a)


def pdf_of_objects(objects: list[bytes], *, root: int = 1, xref: bool = True,
                   trailer_extra: bytes = b"") -> bytes:
    """A PDF written by hand: ``objects[i]`` is the body of object ``i + 1``. Needed where
    pikepdf refuses to write what the case is about (loops, lies, garbage offsets)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    start = out.tell()
    if xref:
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, root, trailer_extra, start))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_A4 = b"/MediaBox [0 0 595 842]"


def _one_page(page_extra: bytes = b"", catalog: bytes = _CATALOG,
              more: tuple[bytes, ...] = ()) -> bytes:
    """Catalog 1, pages 2, the page 3, then ``more`` from 4; an empty content stream and
    empty resources unless ``page_extra`` brings its own."""
    if b"/Resources" not in page_extra:
        page_extra += b" /Resources << >>"
    if b"/Contents" not in page_extra:
        page_extra += b" /Contents %d 0 R" % (4 + len(more))
        more = (*more, _stream(b""))
    return pdf_of_objects([catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                           b"<< /Type /Page /Parent 2 0 R " + _A4 + b" " + page_extra
                           + b" >>", *more])


# --- decompression bombs ---------------------------------------------------------------------

def pdf_content_bomb() -> bytes:
    """A page whose content stream inflates to 1 GiB (spaces: valid, empty content)."""
    body = _stream(flate_zeros(GiB, b" "), b"/Filter /FlateDecode ")
    return _one_page(b"/Contents 4 0 R", more=(body,))


def pdf_image_bomb() -> bytes:
    """A 1,000 x 1,000 image XObject (under every pixel limit) whose data inflates to 1 GiB."""
    image = _stream(flate_zeros(GiB), b"/Type /XObject /Subtype /Image /Width 1000 "
                    b"/Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 "
                    b"/Filter /FlateDecode ")
    content = _stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    return _one_page(b"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R",
                     more=(image, content))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


def png_bomb() -> bytes:
    """50,000 x 50,000 one-bit grey, all zeros: 2.5 billion pixels in about 300 KB."""
    side = 50_000
    row = 1 + (side + 7) // 8  # a filter byte, then the packed bits
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", flate_zeros(-(-row * side // MiB) * MiB))
            + _png_chunk(b"IEND", b""))


def jpeg_huge_header() -> bytes:
    """A small JPEG whose frame header (SOF0) claims 65,000 x 65,000 pixels."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65_000, 65_000)
    return bytes(data)


def tiff_huge_header() -> bytes:
    """A TIFF whose first directory declares 100,000 x 100,000 pixels."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16)).save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    offset = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, offset)[0]):
        entry = offset + 2 + 12 * i
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):  # ImageWidth, ImageLength
            fmt = "<H" if kind == 3 else "<I"
            struct.pack_into(fmt, data, entry + 8, 100_000 if kind == 4 else 65_000)
    return bytes(data)


def tiff_many_frames() -> bytes:
    """A TIFF of 600 one-pixel pages (the page limit is 500)."""
    buffer = io.BytesIO()
    frames = [Image.new("1", (1, 1)) for _ in range(600)]
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


# --- structure: nesting, loops, lies ---------------------------------------------------------

def pdf_nested_arrays() -> bytes:
    """An array nested 100,000 deep in the page dictionary."""
    depth = 100_000
    return _one_page(b"/Deep " + b"[" * depth + b"]" * depth)


def pdf_kids_loop() -> bytes:
    """A page tree whose node lists itself among its /Kids."""
    return pdf_of_objects([_CATALOG, b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                           b"<< /Type /Page /Parent 2 0 R " + _A4 + b" >>"])


def pdf_parent_loop() -> bytes:
    """Two intermediate page-tree nodes that are each other's only kid."""
    return pdf_of_objects([_CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                           b"<< /Type /Pages /Parent 2 0 R /Kids [4 0 R] /Count 1 >>",
                           b"<< /Type /Pages /Parent 3 0 R /Kids [3 0 R] /Count 1 >>"])


def pdf_prev_loop() -> bytes:
    """A cross-reference table whose trailer's /Prev points back at itself."""
    plain = _one_page()
    start = int(plain.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    return plain.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % start)


def pdf_garbage_xref() -> bytes:
    """Every offset of the cross-reference table points at nonsense."""
    plain = _one_page()
    head, table = plain.split(b"xref\n", 1)
    lines = table.split(b"\n")
    lines[2:6] = [b"%010d 00000 n " % (987_654 + 13 * i) for i in range(4)]
    return head + b"xref\n" + b"\n".join(lines)


def pdf_truncated() -> bytes:
    return pdf_image_bomb()[:5000]


def pdf_huge_page_count() -> bytes:
    """100,000 /Kids that are all the same page object, and a /Count that agrees."""
    kids = b"[" + b"3 0 R " * 100_000 + b"]"
    return pdf_of_objects([_CATALOG, b"<< /Type /Pages /Kids " + kids + b" /Count 100000 >>",
                           b"<< /Type /Page /Parent 2 0 R " + _A4 + b" >>"])


def pdf_lying_count() -> bytes:
    """/Count says 1, the /Kids array holds the same page 100,000 times."""
    return pdf_huge_page_count().replace(b"/Count 100000", b"/Count 1")


# --- active content --------------------------------------------------------------------------

def pdf_javascript_open() -> bytes:
    catalog = (b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript "
               b"/JS (app.alert\\('x'\\)) >> >>")
    return _one_page(catalog=catalog)


def pdf_javascript_names() -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>"
    return _one_page(catalog=catalog, more=(
        b"<< /Names [(a) << /S /JavaScript /JS (this.print\\(\\)) >>] >>",))


def pdf_embedded_file() -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>"
    return _one_page(catalog=catalog, more=(
        b"<< /Names [(a.exe) << /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>] >>",
        _stream(b"MZ\x90\x00", b"/Type /EmbeddedFile ")))


def pdf_attachment_annotation() -> bytes:
    annot = (b"/Annots [<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] "
             b"/FS << /Type /Filespec /F (x.bat) /EF << /F 4 0 R >> >> >>]")
    return _one_page(annot, more=(_stream(b"echo hi", b"/Type /EmbeddedFile "),))


def pdf_launch_action() -> bytes:
    return _one_page(b"/AA << /O << /S /Launch /F (cmd.exe) >> >>")


# --- mislabelled and polyglots ---------------------------------------------------------------

def _small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (32, 32), 255).save(buffer, "PNG")
    return buffer.getvalue()


def exe_named_jpg() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(500) + b"This program cannot be run"


def html_named_pdf() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def png_jar_polyglot() -> bytes:
    """A PNG with a ZIP archive (a .jar, an .docx) appended after IEND."""
    return _small_png() + b"PK\x03\x04" + bytes(26) + b"evil.class" + bytes(64)


def html_pdf_polyglot() -> bytes:
    """HTML first, a PDF after it: readers find %PDF- in the first kilobyte."""
    return b"<html><script>alert(1)</script>" + _one_page()


@dataclass(frozen=True, kw_only=True, slots=True)
class Case:
    name: str
    filename: str
    make: Callable[[], bytes]
    code: str | None  # the refusal code; None: accepted (mislabels intake sees through)


CASES: tuple[Case, ...] = (
    Case(name="pdf-content-bomb", filename="bom-noi-dung.pdf", make=pdf_content_bomb,
         code="pdf_too_complex"),
    Case(name="pdf-image-bomb", filename="bom-anh.pdf", make=pdf_image_bomb,
         code="pdf_too_complex"),
    Case(name="png-bomb", filename="bom.png", make=png_bomb, code="image_too_large"),
    Case(name="jpeg-huge-header", filename="anh-lon.jpg", make=jpeg_huge_header,
         code="image_too_large"),
    Case(name="tiff-huge-header", filename="anh-lon.tif", make=tiff_huge_header,
         code="image_too_large"),
    Case(name="tiff-600-frames", filename="nhieu-trang.tif", make=tiff_many_frames,
         code="too_many_pages"),
    Case(name="pdf-nested-arrays", filename="long-nhau.pdf", make=pdf_nested_arrays,
         code="pdf_no_pages"),
    Case(name="pdf-kids-loop", filename="vong-lap.pdf", make=pdf_kids_loop,
         code="pdf_corrupt"),
    Case(name="pdf-parent-loop", filename="vong-lap-2.pdf", make=pdf_parent_loop,
         code="pdf_corrupt"),
    Case(name="pdf-prev-loop", filename="xref-vong.pdf", make=pdf_prev_loop,
         code=None),
    Case(name="pdf-garbage-xref", filename="xref-sai.pdf", make=pdf_garbage_xref,
         code=None),
    Case(name="pdf-truncated", filename="cat-ngang.pdf", make=pdf_truncated,
         code="pdf_corrupt"),
    Case(name="pdf-100k-pages", filename="100k-trang.pdf", make=pdf_huge_page_count,
         code="too_many_pages"),
    Case(name="pdf-lying-count", filename="dem-sai.pdf", make=pdf_lying_count,
         code="pdf_corrupt"),
    Case(name="pdf-javascript-openaction", filename="js.pdf", make=pdf_javascript_open,
         code="pdf_active_content"),
    Case(name="pdf-javascript-names", filename="js-2.pdf", make=pdf_javascript_names,
         code="pdf_active_content"),
    Case(name="pdf-embedded-file", filename="dinh-kem.pdf", make=pdf_embedded_file,
         code="pdf_active_content"),
    Case(name="pdf-attachment-annotation", filename="dinh-kem-2.pdf",
         make=pdf_attachment_annotation, code="pdf_active_content"),
    Case(name="pdf-launch-action", filename="launch.pdf", make=pdf_launch_action,
         code="pdf_active_content"),
    Case(name="zero-bytes", filename="rong.pdf", make=lambda: b"", code="empty"),
    Case(name="png-named-pdf", filename="anh.pdf", make=_small_png, code=None),
    Case(name="exe-named-jpg", filename="anh.jpg", make=exe_named_jpg,
         code="unsupported_type"),
    Case(name="html-named-pdf", filename="trang.pdf", make=html_named_pdf,
         code="unsupported_type"),
    Case(name="png-zip-polyglot", filename="da-dang.png", make=png_jar_polyglot,
         code="polyglot"),
    Case(name="html-pdf-polyglot", filename="da-dang.pdf", make=html_pdf_polyglot,
         code="polyglot"),
)


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else "abuse-corpus")
    folder.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (folder / f"{case.name}-{case.filename}").write_bytes(case.make())

    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
