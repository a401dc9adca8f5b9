"""The page image of a scan page, taken straight from the PDF instead of rendered.

A page made from a scan (img2pdf, most scanners) draws one image over the whole page at
1:1. Rendering it with pdfium at the image's own resolution gives the same pixels, after a
decode, a render and a slow PNG write: 2.5 s of the 5.3 s a noisy A4 JPEG page took in
ocrmypdf (bench/ocr.py). Anything else on the page (a second image, vector art, text,
annotations, a mask, a rotation) and this returns ``None``: pdfium renders it as usual.

A Flate image with PNG predictors (what img2pdf makes of a PNG) is already PNG image data:
it is wrapped in PNG chunks as it is, without decoding (10 ms instead of 0.4 s for A4).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf

__all__ = ["sole_page_png"]

_TOLERANCE_PT = 0.5
_MODES = {"png16m": "RGB", "pnggray": "L", "png256": "RGB", "pngmono": "1", "pngmonod": "1"}
_MASKING_KEYS = ("/SMask", "/Mask", "/Decode")
_PNG_COLOUR_TYPES = {("RGB", 3): 2, ("L", 1): 0, ("1", 1): 0}  # (device mode, colours)
_INCH_PER_METRE = 39.3701


def sole_page_png(pdf_path: Path, page_number: int, dpi: tuple[float, float],
                  device: str) -> bytes | None:
    """PNG of the image page ``page_number`` (1-based) shows, in ``device``'s mode and
    stating ``dpi``, if that image is all the page shows and has exactly the pixels a
    rendering at ``dpi`` would have; else ``None``."""
    mode = _MODES.get(device)
    if mode is None:
        return None
    with pikepdf.open(pdf_path) as pdf:
        page = pdf.pages[page_number - 1]
        image = _full_page_image(page)
        if image is None or not _same_size(page, image, dpi):
            return None
        wrapped = _png_as_is(image, mode, dpi)
        if wrapped is not None:
            return wrapped
        picture = pikepdf.PdfImage(image).as_pil_image()
    if picture.mode != mode:
        if mode == "1":
            return None  # converting to 1 bit would dither: let pdfium decide
        picture = picture.convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", dpi=dpi, compress_level=1)  # a temporary file: fast zlib
    return buffer.getvalue()


def _png_as_is(image: pikepdf.Stream, mode: str, dpi: tuple[float, float]) -> bytes | None:
    """The image's Flate data in PNG chunks, if it is PNG-predicted data of ``mode``."""
    filters = image.get("/Filter")
    parms = image.get("/DecodeParms")
    if isinstance(filters, pikepdf.Array) and len(filters) == 1:
        filters = filters[0]
    if isinstance(parms, pikepdf.Array) and len(parms) == 1:
        parms = parms[0]
    if filters != pikepdf.Name.FlateDecode or not isinstance(parms, pikepdf.Dictionary):
        return None
    width, bits = int(image.get("/Width", 0)), int(image.get("/BitsPerComponent", 0))
    colours = int(parms.get("/Colors", 1))
    colour_type = _PNG_COLOUR_TYPES.get((mode, colours))
    if (int(parms.get("/Predictor", 1)) < 10 or int(parms.get("/Columns", 1)) != width
            or int(parms.get("/BitsPerComponent", bits)) != bits or colour_type is None
            or bits != (1 if mode == "1" else 8) or _components(image) != colours):
        return None
    header = struct.pack(">IIBBBBB", width, int(image.get("/Height", 0)), bits, colour_type,
                         0, 0, 0)
    density = struct.pack(">IIB", round(dpi[0] * _INCH_PER_METRE),
                          round(dpi[1] * _INCH_PER_METRE), 1)
    return b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"pHYs", density),
                     _chunk(b"IDAT", image.read_raw_bytes()), _chunk(b"IEND", b"")])


def _components(image: pikepdf.Stream) -> int | None:
    space = image.get("/ColorSpace")
    if space == pikepdf.Name.DeviceRGB:
        return 3
    if space == pikepdf.Name.DeviceGray:
        return 1
    if (isinstance(space, pikepdf.Array) and len(space) == 2
            and space[0] == pikepdf.Name.ICCBased and isinstance(space[1], pikepdf.Stream)):
        return int(space[1].get("/N", 0))
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _full_page_image(page: pikepdf.Page) -> pikepdf.Stream | None:
    if int(page.obj.get("/Rotate", 0)) % 360 or "/Annots" in page.obj:
        return None
    resources = page.obj.get("/Resources")
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(xobjects, pikepdf.Dictionary) or len(xobjects) != 1:
        return None
    [(name, image)] = xobjects.items()
    if (not isinstance(image, pikepdf.Stream) or image.get("/Subtype") != pikepdf.Name.Image
            or image.get("/ImageMask", False) or any(k in image for k in _MASKING_KEYS)):
        return None
    try:
        operations = [(str(op.operator), list(op.operands))
                      for op in pikepdf.parse_content_stream(page)]
    except pikepdf.PdfError:
        return None
    if [op for op, _ in operations] != ["q", "cm", "Do", "Q"]:
        return None
    matrix = [float(v) for v in operations[1][1]]
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    expected = [x1 - x0, 0.0, 0.0, y1 - y0, x0, y0]
    if (operations[2][1] != [pikepdf.Name(name)]
            or any(abs(a - b) > _TOLERANCE_PT for a, b in zip(matrix, expected, strict=True))):
        return None
    return image


def _same_size(page: pikepdf.Page, image: pikepdf.Stream, dpi: tuple[float, float]) -> bool:
    """pdfium would make round(points x dpi / 72) pixels a side; so must the image have."""
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    width = round(abs(x1 - x0) * dpi[0] / 72)
    height = round(abs(y1 - y0) * dpi[1] / 72)
    return (int(image.get("/Width", 0)), int(image.get("/Height", 0))) == (width, height)
