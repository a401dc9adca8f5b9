"""Turn a PDF we rendered ourselves into PDF/A-2b, deterministically, with pikepdf.

What ISO 19005-2 asks of level B and where it is met:

- fonts embedded (§6.2.11.4.1): fpdf2 embeds a TrueType subset of every font it uses;
  :func:`make_pdfa2b` refuses a PDF with a font that is not embedded;
- an output intent (§6.2.3): sRGB, from LittleCMS through Pillow;
- XMP metadata declaring ``pdfaid:part`` 2 and ``pdfaid:conformance`` B (§6.6.2.1, §6.6.4),
  and a document information dictionary that agrees with it (PDF/A-1 §6.7.3 required it;
  validators still compare the two);
- a file identifier in the trailer (§6.1.3), derived from the content;
- transparency is allowed in PDF/A-2, so nothing is flattened.

Everything is derived from the input and the arguments (no clock, no random), so the same
input gives the same bytes. ``pikepdf.pdfa`` (an allowlist validator that mirrors the
veraPDF rules) checks the result when ``validate`` is true. Ghostscript (``ocrmypdf
--output-type pdfa-2``) is not used: it is not installed here, it rewrites fonts and
content, and its output carries the time of conversion.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import uuid
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Dictionary, Name, Pdf
from pikepdf.pdfa import resolve_save_kwargs, validate_written
from PIL import ImageCms

__all__ = ["PdfaConversionError", "is_pdfa2", "make_pdfa2b"]

CREATOR_TOOL = "Motcua"
_FIXED_ICC_DATE = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)  # ICC.1:2010 dateTimeNumber
_FONT_FILES = (Name.FontFile, Name.FontFile2, Name.FontFile3)


class PdfaConversionError(Exception):
    """The PDF cannot be made PDF/A-2b (a font is not embedded, or validation failed)."""


@cache
def srgb_icc_profile() -> bytes:
    """The LittleCMS sRGB profile (ICC v4, monitor class) with a fixed creation date.

    LittleCMS stamps the current time in the header (ICC.1:2010 §7.2.8); the profile ID is
    left zero, meaning "not computed" (§7.2.18), so overwriting the date keeps it valid.
    """
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = _FIXED_ICC_DATE
    return bytes(data)


def make_pdfa2b(
    pdf: bytes,
    *,
    title: str,
    author: str,
    subject: str,
    lang: str = "vi-VN",
    created: datetime | None = None,
    validate: bool = True,
) -> bytes:
    """Return ``pdf`` as PDF/A-2b with the given metadata.

    ``created`` (timezone-aware) becomes both the creation and the modification date; by
    default it is read from the input's ``/CreationDate``. Raises
    :class:`PdfaConversionError` if a font is not embedded or, with ``validate``, if
    ``pikepdf.pdfa`` does not approve the result.
    """
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", lang):
        raise ValueError(f"not a language tag: {lang!r}")  # RFC 5646, as /Lang wants
    title, author, subject = _clean(title), _clean(author), _clean(subject)
    with Pdf.open(io.BytesIO(pdf)) as doc:
        missing = sorted(_fonts_not_embedded(doc))
        if missing:
            raise PdfaConversionError(f"fonts not embedded: {', '.join(missing)}")
        when = created or _docinfo_created(doc)
        if when.tzinfo is None:
            raise ValueError("created must be timezone-aware")
        content = hashlib.sha256(pdf).hexdigest()
        document_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:sha256:{content}")
        producer = _producer(doc)
        _set_docinfo(doc, title=title, author=author, subject=subject, when=when,
                     producer=producer)
        xmp = _xmp_packet(title=title, author=author, subject=subject, lang=lang, when=when,
                          producer=producer, document_id=document_id)
        doc.Root.Metadata = doc.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)
        doc.Root.Lang = pikepdf.String(lang)
        # fpdf2 writes an initial view (/OpenAction); pikepdf.pdfa cannot vouch for it, and a
        # result needs none.
        if Name.OpenAction in doc.Root:
            del doc.Root[Name.OpenAction]
        doc.Root.OutputIntents = pikepdf.Array([_output_intent(doc)])
        out = io.BytesIO()
        doc.save(out, **_save_kwargs())
    result = out.getvalue()
    if validate:
        _validate(result)
    return result


def is_pdfa2(pdf: bytes) -> bool:
    """True if the XMP metadata declares PDF/A part 2 (any conformance level)."""
    with Pdf.open(io.BytesIO(pdf)) as doc:
        status = doc.open_metadata().pdfa_status
    return status[:1] == "2" and status[1:] in {"A", "B", "U"}


def _fonts_not_embedded(doc: Pdf) -> set[str]:
    missing: set[str] = set()
    for page in doc.pages:
        fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
        for font in fonts.values():
            if font.get("/Subtype") == Name.Type3:
                continue  # its glyphs are content streams inside the font
            descendants = font.get("/DescendantFonts", pikepdf.Array([font]))
            for part in descendants:
                descriptor = part.get("/FontDescriptor")
                if descriptor is None or not any(k in descriptor for k in _FONT_FILES):
                    missing.add(str(font.get("/BaseFont", "?")))
    return missing


def _docinfo_created(doc: Pdf) -> datetime:
    raw = doc.docinfo.get("/CreationDate")
    if raw is None:
        raise ValueError("the PDF has no /CreationDate; pass created=")
    return pikepdf.models.metadata.decode_pdf_date(str(raw))


def _producer(doc: Pdf) -> str:
    made_by = str(doc.docinfo.get("/Producer", "")).strip()
    converted_by = f"pikepdf {pikepdf.__version__}"
    return f"{made_by}; {converted_by}" if made_by else converted_by


def _pdf_date(when: datetime) -> str:
    # PDF 32000-1 §7.9.4: D:YYYYMMDDHHmmSSOHH'mm
    offset = when.strftime("%z")
    return f"D:{when:%Y%m%d%H%M%S}{offset[0]}{offset[1:3]}'{offset[3:5]}'"


def _set_docinfo(doc: Pdf, *, title: str, author: str, subject: str, when: datetime,
                 producer: str) -> None:
    # Every entry equals its XMP counterpart (ISO 19005-1 §6.7.3; readers compare them).
    doc.trailer.Info = doc.make_indirect(Dictionary(
        Title=pikepdf.String(title),
        Author=pikepdf.String(author),
        Subject=pikepdf.String(subject),
        Creator=pikepdf.String(CREATOR_TOOL),
        Producer=pikepdf.String(producer),
        CreationDate=pikepdf.String(_pdf_date(when)),
        ModDate=pikepdf.String(_pdf_date(when)),
    ))


def _xmp_packet(*, title: str, author: str, subject: str, lang: str, when: datetime,
                producer: str, document_id: uuid.UUID) -> bytes:
    date = when.isoformat(timespec="seconds")
    t, a, s = (escape(v) for v in (title, author, subject))
    # The packet wrapper follows XMP Part 1 §7.3, without the bytes attribute that ISO
    # 19005-2 §6.6.2.1 forbids.
    text = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{t}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{a}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{s}</rdf:li></rdf:Alt></dc:description>
   <dc:language><rdf:Bag><rdf:li>{escape(lang)}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreatorTool>{CREATOR_TOOL}</xmp:CreatorTool>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <pdf:Producer>{escape(producer)}</pdf:Producer>
   <xmpMM:DocumentID>uuid:{document_id}</xmpMM:DocumentID>
   <xmpMM:InstanceID>uuid:{document_id}</xmpMM:InstanceID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return text.encode("utf-8")


def _clean(text: str) -> str:
    # XML 1.0 §2.2 admits no C0 controls; the Info entry must stay equal to the XMP one.
    return "".join(c for c in text if c >= " ")


def _output_intent(doc: Pdf) -> Dictionary:
    profile = doc.make_stream(srgb_icc_profile(), N=3)
    return Dictionary(
        Type=Name.OutputIntent,
        S=Name.GTS_PDFA1,  # ISO 19005-2 §6.2.3: the subtype keeps its PDF/A-1 name
        OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
        Info=pikepdf.String("sRGB IEC61966-2.1"),
        DestOutputProfile=profile,
    )


def _save_kwargs() -> dict[str, Any]:
    # deterministic_id: the trailer /ID is a hash of the content (ISO 19005-2 §6.1.3).
    return resolve_save_kwargs("2b", deterministic_id=True)


def _validate(pdf: bytes) -> None:
    report = validate_written(io.BytesIO(pdf), "2b", save_kwargs=_save_kwargs())
    if not report.passed:
        details = "; ".join(f"{f.rule} {f.message} ({f.where})" for f in report.violations)
        raise PdfaConversionError(f"{report.summary()}: {details}")
