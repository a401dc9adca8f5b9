"""Hostile-PDF checks for intake: active content, and streams that inflate past a bound.

Both read structure only. A stream's decoded size is found by inflating it in bounded
steps (zlib's ``max_length``) or from a worst-case expansion factor, never by letting qpdf
decode it whole: a 1 MB FlateDecode stream may hold 1 GiB of spaces.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pikepdf

__all__ = ["active_content", "oversized_stream"]

_MAX_DEPTH = 4
_MAX_NODES = 10_000  # name-tree and annotation entries looked at, at most
_STEP = 1 << 20
# Largest output per input byte of each filter (ISO 32000-1 §7.4). Deflate's bound is
# 1032:1 (RFC 1951: a 258-byte match per 2 bits, in practice); LZW 12-bit codes ~4096.
_EXPANSION = {"/FlateDecode": 1032, "/LZWDecode": 4096, "/RunLengthDecode": 128,
              "/ASCIIHexDecode": 1, "/ASCII85Decode": 1}
_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/RichMediaExecute"})


def active_content(pdf: pikepdf.Pdf) -> str | None:
    """Where the file carries scripts, launch actions or embedded files, or ``None``.

    The catalog's /OpenAction and /AA, its name trees /JavaScript and /EmbeddedFiles,
    /AcroForm XFA, and each page's /AA and annotations (file attachments, link actions).
    """
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for tree in ("/JavaScript", "/EmbeddedFiles"):
            if tree in names:
                return f"catalog /Names {tree}"
    acroform = root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary) and "/XFA" in acroform:
        return "XFA form"
    for where, action in (("/OpenAction", root.get("/OpenAction")),
                          *_additional(root, "catalog")):
        if _is_active(action, 0):
            return f"{where}"
    for number, page in enumerate(pdf.pages, start=1):
        for where, action in _additional(page.obj, f"page {number}"):
            if _is_active(action, 0):
                return where
        annots = page.obj.get("/Annots")
        for seen, annot in enumerate(annots if isinstance(annots, pikepdf.Array) else []):
            if seen > _MAX_NODES or not isinstance(annot, pikepdf.Dictionary):
                continue
            if annot.get("/Subtype") in (pikepdf.Name.FileAttachment, pikepdf.Name.RichMedia):
                return f"page {number} {annot.get('/Subtype')} annotation"
            if _is_active(annot.get("/A"), 0) or any(
                    _is_active(a, 0) for _, a in _additional(annot, "")):
                return f"page {number} annotation action"
    return None


def _additional(holder: pikepdf.Object, where: str) -> Iterator[tuple[str, pikepdf.Object]]:
    aa = holder.get("/AA")
    if isinstance(aa, pikepdf.Dictionary):
        for key, action in aa.items():
            yield f"{where} /AA {key}", action


def _is_active(action: object, depth: int) -> bool:
    """An action dictionary of a dangerous type, or one that chains to one via /Next."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(action, pikepdf.Array):
        return any(_is_active(a, depth + 1) for a in list(action)[:_MAX_NODES])
    if not isinstance(action, pikepdf.Dictionary):
        return False
    if str(action.get("/S", "")) in _ACTIONS or "/JS" in action:
        return True
    return _is_active(action.get("/Next"), depth + 1)


def oversized_stream(page: pikepdf.Page, limit: int) -> str | None:
    """A stream the page draws (content, forms, images) that decodes to more than it may.

    Content and forms: ``limit`` bytes in all. Images: their declared size (width x height
    x components x bits) and a row of slack, so a small image holding 1 GiB is caught.
    """
    budget = limit
    for stream in _content_streams(page):
        size = _decoded_size(stream, budget)
        if size is None:
            return f"content stream {stream.objgen} decodes to over {budget} bytes"
        budget -= size
    for image in _images(page.obj.get("/Resources"), 0, set()):
        allowed = _image_bytes(image)
        if allowed is not None and _decoded_size(image, allowed) is None:
            return f"image {image.objgen} decodes to over its declared {allowed} bytes"
    return None


def _decoded_size(stream: pikepdf.Stream, limit: int) -> int | None:
    """The decoded size if it is at most ``limit``, else ``None``."""
    raw = stream.read_raw_bytes()
    filters = _filters(stream)
    if filters == ["/FlateDecode"]:
        return _inflated_size(raw, limit)
    bound = len(raw)
    for name in filters:
        factor = _EXPANSION.get(name)
        if factor is None:  # image codecs (DCT, JPX, JBIG2, CCITT) decode to the dimensions
            return len(raw) if stream.get("/Subtype") == pikepdf.Name.Image else None
        bound *= factor
    return bound if bound <= limit else None


def _inflated_size(raw: bytes, limit: int) -> int | None:
    inflater = zlib.decompressobj()
    size, pending = 0, raw
    try:
        while pending and not inflater.eof:
            size += len(inflater.decompress(pending, _STEP))
            pending = inflater.unconsumed_tail
            if size > limit:
                return None
    except zlib.error:
        return size  # damaged data: qpdf stops at the same place; not a bomb
    return size


def _filters(stream: pikepdf.Stream) -> list[str]:
    value = stream.get("/Filter")
    if isinstance(value, pikepdf.Name):
        return [str(value)]
    if isinstance(value, pikepdf.Array):
        return [str(v) for v in value]
    return []


def _image_bytes(image: pikepdf.Stream) -> int | None:
    try:
        width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
        bits = int(image.get("/BitsPerComponent", 8))
    except (TypeError, ValueError):
        return None
    space = image.get("/ColorSpace")
    components = 4 if space == pikepdf.Name.DeviceCMYK else 3 if space in (
        pikepdf.Name.DeviceRGB, pikepdf.Name.CalRGB) else 1 if space in (
        pikepdf.Name.DeviceGray, pikepdf.Name.CalGray) or image.get("/ImageMask") else 4
    row = (width * components * max(bits, 1) + 7) // 8 + 1  # +1: a PNG predictor's tag
    return row * (height + 1) + _STEP


def _content_streams(page: pikepdf.Page) -> Iterator[pikepdf.Stream]:
    contents = page.obj.get("/Contents")
    for part in list(contents) if isinstance(contents, pikepdf.Array) else [contents]:
        if isinstance(part, pikepdf.Stream):
            yield part
    yield from _forms(page.obj.get("/Resources"), 0, set())


def _xobjects(resources: object) -> Iterator[pikepdf.Stream]:
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if isinstance(xobjects, pikepdf.Dictionary):
        for value in xobjects.values():
            if isinstance(value, pikepdf.Stream):
                yield value


def _forms(resources: object, depth: int, seen: set[tuple[int, int]]
           ) -> Iterator[pikepdf.Stream]:
    for xobject in _xobjects(resources):
        if xobject.get("/Subtype") == pikepdf.Name.Form and xobject.objgen not in seen:
            seen.add(xobject.objgen)
            yield xobject
            if depth < _MAX_DEPTH:
                yield from _forms(xobject.get("/Resources"), depth + 1, seen)


def _images(resources: object, depth: int, seen: set[tuple[int, int]]
            ) -> Iterator[pikepdf.Stream]:
    for xobject in _xobjects(resources):
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if xobject.get("/Subtype") == pikepdf.Name.Image:
            yield xobject
        elif xobject.get("/Subtype") == pikepdf.Name.Form and depth < _MAX_DEPTH:
            yield from _images(xobject.get("/Resources"), depth + 1, seen)
