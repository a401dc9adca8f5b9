"""Cheap structural reads of a PDF with pikepdf: page count, text, image sizes, signatures.

Each walk is bounded (depth and visited objects) because the file is untrusted: a form
XObject may draw itself, a field tree may loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pikepdf

__all__ = ["declared_page_count", "has_eof_marker", "is_signed", "largest_image_pixels",
           "missing_parts", "page_has_text", "page_pixels_at"]

_MAX_DEPTH = 4
_TAIL_BYTES = 2048  # writers may append a little after %%EOF (a newline, padding)
_TEXT_OPERATORS = "Tj TJ ' \""  # the operators that show text (ISO 32000-1 §9.4.3)


def declared_page_count(pdf: pikepdf.Pdf) -> int | None:
    """The page tree's /Count, without loading any page; ``None`` if absent or not a number."""
    pages = pdf.Root.get("/Pages")
    count = pages.get("/Count") if isinstance(pages, pikepdf.Dictionary) else None
    return _as_int(count)


def has_eof_marker(path: Path) -> bool:
    """Whether ``%%EOF`` ends the file (ISO 32000-1 §7.5.5). Without it the upload was cut
    short: qpdf would still "recover" the objects before the cut, and the archive would get
    pages whose content is silently missing."""
    with path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - _TAIL_BYTES))
        return b"%%EOF" in stream.read()


def missing_parts(page: pikepdf.Page) -> bool:
    """Whether the page has no content, or draws images or forms missing from the file.

    qpdf reads a reference to an object that is not in the file as null and hides a null
    dictionary entry, so a page whose content was lost in a damaged file looks blank. A
    blank page is legitimate in a sound file; the caller decides with qpdf's repair flag.
    """
    contents = page.obj.get("/Contents")
    parts = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    if not all(isinstance(part, pikepdf.Stream) for part in parts):
        return True
    return any(not isinstance(x, pikepdf.Stream) for x in _xobjects(_resources(page.obj)))


def page_has_text(page: pikepdf.Page) -> bool:
    """Whether the page shows text (visible or an invisible OCR layer), forms included."""
    try:
        if pikepdf.parse_content_stream(page, _TEXT_OPERATORS):
            return True
    except pikepdf.PdfError:
        return False
    return any(_stream_has_text(form) for form in _forms(_resources(page.obj), 0, set()))


def largest_image_pixels(page: pikepdf.Page) -> int:
    """Pixel count of the largest image the page draws, from /Width and /Height only."""
    largest = 0
    for image in _images(_resources(page.obj), 0, set()):
        width, height = _as_int(image.get("/Width")), _as_int(image.get("/Height"))
        if width is not None and height is not None:
            largest = max(largest, width * height)
    return largest


def page_pixels_at(page: pikepdf.Page, *, dpi: int) -> int:
    """Pixels a rasteriser would make of the page at ``dpi`` (MediaBox x /UserUnit)."""
    try:
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        unit = float(page.obj.get("/UserUnit", 1))
    except (TypeError, ValueError, pikepdf.PdfError):
        return 0
    scale = unit * dpi / 72
    return round(abs(x1 - x0) * scale) * round(abs(y1 - y0) * scale)


def is_signed(pdf: pikepdf.Pdf) -> bool:
    """A signature field whose value has a /ByteRange: the file must not be modified."""
    acroform = pdf.Root.get("/AcroForm")
    fields = acroform.get("/Fields") if isinstance(acroform, pikepdf.Dictionary) else None
    if isinstance(fields, pikepdf.Array) and any(
            _signed_field(field, None, 0, set()) for field in fields):
        return True
    return any(_signed_field(annot, None, _MAX_DEPTH, set())
               for page in pdf.pages
               for annot in _array(page.obj.get("/Annots")))


def _signed_field(field: pikepdf.Object, inherited_type: object, depth: int,
                  seen: set[tuple[int, int]]) -> bool:
    if not isinstance(field, pikepdf.Dictionary) or depth > _MAX_DEPTH or _seen(field, seen):
        return False
    field_type = field.get("/FT", inherited_type)  # /FT is inheritable (§12.7.3.1)
    value = field.get("/V")
    if (field_type == pikepdf.Name.Sig and isinstance(value, pikepdf.Dictionary)
            and "/ByteRange" in value):
        return True
    return any(_signed_field(kid, field_type, depth + 1, seen)
               for kid in _array(field.get("/Kids")))


def _resources(page: pikepdf.Object) -> pikepdf.Object | None:
    """/Resources of a page, inherited from its ancestors if the page has none (§7.7.3.4)."""
    node: pikepdf.Object | None = page
    for _ in range(32):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        resources = node.get("/Resources")
        if isinstance(resources, pikepdf.Dictionary):
            return resources
        node = node.get("/Parent")
    return None


def _xobjects(resources: pikepdf.Object | None) -> Iterator[pikepdf.Object]:
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if isinstance(xobjects, pikepdf.Dictionary):
        yield from xobjects.values()


def _images(resources: pikepdf.Object | None, depth: int,
            seen: set[tuple[int, int]]) -> Iterator[pikepdf.Object]:
    for xobject in _xobjects(resources):
        if not isinstance(xobject, pikepdf.Stream) or _seen(xobject, seen):
            continue
        if xobject.get("/Subtype") == pikepdf.Name.Image:
            yield xobject
        elif xobject.get("/Subtype") == pikepdf.Name.Form and depth < _MAX_DEPTH:
            yield from _images(xobject.get("/Resources"), depth + 1, seen)


def _forms(resources: pikepdf.Object | None, depth: int,
           seen: set[tuple[int, int]]) -> Iterator[pikepdf.Object]:
    for xobject in _xobjects(resources):
        if (isinstance(xobject, pikepdf.Stream) and not _seen(xobject, seen)
                and xobject.get("/Subtype") == pikepdf.Name.Form):
            yield xobject
            if depth < _MAX_DEPTH:
                yield from _forms(xobject.get("/Resources"), depth + 1, seen)


def _stream_has_text(stream: pikepdf.Object) -> bool:
    try:
        return bool(pikepdf.parse_content_stream(stream, _TEXT_OPERATORS))
    except pikepdf.PdfError:
        return False


def _seen(obj: pikepdf.Object, seen: set[tuple[int, int]]) -> bool:
    """Record an indirect object; True if it was met before (a loop or a shared form)."""
    if not obj.is_indirect:
        return False
    key = obj.objgen
    if key in seen:
        return True
    seen.add(key)
    return False


def _array(value: object) -> list[pikepdf.Object]:
    return list(value) if isinstance(value, pikepdf.Array) else []


def _as_int(value: object) -> int | None:
    """A non-negative PDF integer (or real) as an int; ``None`` for anything else."""
    if not isinstance(value, pikepdf.Object | int):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None
