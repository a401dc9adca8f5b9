"""Render the draft e-result of a dossier as PDF/A-2b, laid out as Decree 30/2020 Appendix I.

Page 1 carries the header: agency (parent, then issuing agency, underlined) top left with the
number under it, the national emblem line top right with place and date under it; then the
title, the subject, the justified body. The last page carries "Nơi nhận" bottom left beside
the signature block (title lines, an empty area for the signature stamp, the name), and the
QR code with the e-result code at its bottom left. The signature block is never split and
takes the last body paragraph with it rather than stand alone on a page.

The content hash that the QR digest binds (see ``signing.qr``) is :func:`content_sha256`
of the spec, which leaves out the QR image itself; it can therefore be computed before the
QR code is made. Rendering is deterministic, so the PDF bytes are stable too.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from pathlib import Path

from fpdf import FPDF
from fpdf import __version__ as fpdf_version

from records.calendar import VN_TZ
from signing.pdfa import make_pdfa2b
from signing.qr import parse_result_code

__all__ = ["Box", "RenderedResult", "ResultSpec", "content_sha256", "place_date_line",
           "render_result"]

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points, origin bottom-left

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
_FAMILY = "NotoSerif"
_STYLES = {"": "Regular", "B": "Bold", "I": "Italic", "BI": "BoldItalic"}
_PT = 72 / 25.4  # points per millimetre; everything below is in millimetres
# Decree 30/2020 Appendix I Part I: A4; margins top and bottom 20-25, left 30-35, right
# 15-20 mm; body 13-14 pt, first-line indent 1-1.27 cm, paragraphs at least 6 pt apart.
_PAGE_W, _PAGE_H = 210.0, 297.0
_TOP, _BOTTOM, _LEFT, _RIGHT = 20.0, 20.0, 30.0, 15.0
_TEXT_W = _PAGE_W - _LEFT - _RIGHT
_LEFT_COL = 70.0  # agency and "Nơi nhận" column; the rest is the emblem and signer column
_RIGHT_X, _RIGHT_W = _LEFT + _LEFT_COL, _TEXT_W - _LEFT_COL
_BODY_PT, _LINE, _PARA_GAP, _INDENT = 14, 6.2, 2.1, 12.7
_STAMP_W, _STAMP_H, _STAMP_AREA = 70.0, 30.0, 32.0
_QR, _QR_GAP = 22.0, 3.0
_CLOSING_GAP = 4.0
_CLOSING_LIMIT = _PAGE_H - _BOTTOM - _QR - _QR_GAP  # the closing block ends above the QR
_HANG = 2.5  # continuation lines of a recipient start under its text


@dataclass(frozen=True, kw_only=True, slots=True)
class ResultSpec:
    """What a draft e-result says. Text is stored NFC-normalised.

    ``number`` is the notation without "Số:" (``125/QĐ-SNNMT``); ``recipients`` are the
    "Nơi nhận" lines without the leading dash, with their own punctuation (Decree 30
    Appendix I: ";" after each, "." after the last, usually "Lưu: VT, …").
    """

    parent_agency: str
    agency: str
    number: str
    place: str
    issue_date: date
    title: str
    subject: str
    body: tuple[str, ...]
    recipients: tuple[str, ...]
    signer_titles: tuple[str, ...]
    signer_name: str
    result_code: str
    qr_png: bytes

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                object.__setattr__(self, f.name, _nfc(value))
            elif isinstance(value, tuple | list):
                object.__setattr__(self, f.name, tuple(_nfc(v) for v in value))
        if not self.body or not all(self.body):
            raise ValueError("the body needs at least one non-empty paragraph")
        if not self.signer_titles or not self.signer_name:
            raise ValueError("the signer's title and name are required")
        if not self.qr_png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("qr_png must be a PNG image")
        parse_result_code(self.result_code)


@dataclass(frozen=True, kw_only=True, slots=True)
class RenderedResult:
    """A rendered draft, and where the signatures go on it."""

    pdf: bytes  # PDF/A-2b
    content_sha256: str  # content_sha256(spec): what the QR digest binds
    pdf_sha256: str
    page_count: int
    signature_page: int  # 1-based
    personal_box: Box  # the empty area between the signer's title and name
    seal_box: Box  # same height, over the left third of personal_box and a little left


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def content_sha256(spec: ResultSpec) -> str:
    """SHA-256 of the spec's content (every field but the QR image), canonically encoded."""
    content = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name != "qr_png"}
    content["issue_date"] = spec.issue_date.isoformat()
    content["format"] = "motcua.result-content.v1"
    data = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def place_date_line(place: str, day: date) -> str:
    """``Quảng Ninh, ngày 05 tháng 02 năm 2026``.

    Decree 30 Appendix I Part II.4: a zero before days under 10 and months 1 and 2.
    """
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


class _Pages(FPDF):
    """Page numbers from page 2, centred in the top margin (Decree 30 Appendix I Part I)."""

    def header(self) -> None:
        if self.page_no() > 1:
            _put(self, str(self.page_no()), _LEFT, 10.0, _TEXT_W, "", 13, center=True)


def render_result(spec: ResultSpec) -> RenderedResult:
    """Lay out ``spec`` (see the module docstring) and return it as PDF/A-2b."""
    created = datetime.combine(spec.issue_date, time(0), tzinfo=VN_TZ)
    pdf = _Pages(unit="mm", format="A4")
    pdf.set_margins(_LEFT, _TOP, _RIGHT)
    pdf.set_auto_page_break(False)  # page breaks are decided here, line by line
    pdf.set_creation_date(created)
    pdf.set_producer(f"fpdf2 {fpdf_version}")
    for style, name in _STYLES.items():
        pdf.add_font(_FAMILY, style, str(FONT_DIR / f"NotoSerif-{name}.ttf"))
    pdf.add_page()
    y = _body(pdf, spec, _header(pdf, spec))
    personal = _closing(pdf, spec, y)
    _qr(pdf, spec)
    x1, top, x2, bottom = personal
    seal_x1 = x1 - (_STAMP_H - (x2 - x1) / 3)  # a square seal over the left third
    draft = bytes(pdf.output())
    final = make_pdfa2b(draft, title=f"{spec.title} {spec.number}".strip(), author=spec.agency,
                        subject=spec.subject or spec.title, created=created)
    return RenderedResult(
        pdf=final, content_sha256=content_sha256(spec),
        pdf_sha256=hashlib.sha256(final).hexdigest(), page_count=pdf.pages_count,
        signature_page=pdf.page, personal_box=_box(x1, top, x2, bottom),
        seal_box=_box(seal_x1, top, x1 + (x2 - x1) / 3, bottom),
    )


def _box(x1: float, top: float, x2: float, bottom: float) -> Box:
    return (round(x1 * _PT, 2), round((_PAGE_H - bottom) * _PT, 2),
            round(x2 * _PT, 2), round((_PAGE_H - top) * _PT, 2))


def _header(pdf: FPDF, spec: ResultSpec) -> float:
    """Draw the page-1 header; return the y where the body starts."""
    left = _TOP
    if spec.parent_agency:
        left = _lines(pdf, spec.parent_agency.upper(), _LEFT, _LEFT_COL, left, "", 12, 5.5)
    agency = _balanced(pdf, spec.agency.upper(), _LEFT_COL, ("B", 12))
    left = _lines(pdf, agency, _LEFT, _LEFT_COL, left, "B", 12, 5.5)
    # Part II.2: a rule under the agency, 1/3 to 1/2 of its length.
    rule = 0.4 * max(pdf.get_string_width(line) for line in agency)
    _rule(pdf, _LEFT + (_LEFT_COL - rule) / 2, left + 1.0, rule)
    right = _lines(pdf, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", _RIGHT_X, _RIGHT_W, _TOP,
                   "B", 12, 5.5)
    motto = "Độc lập - Tự do - Hạnh phúc"
    right = _lines(pdf, motto, _RIGHT_X, _RIGHT_W, right, "B", 13, 6.0)
    width = pdf.get_string_width(motto)  # Part II.1: a rule as long as the motto
    _rule(pdf, _RIGHT_X + (_RIGHT_W - width) / 2, right + 0.6, width)
    row = max(left, right) + 4.0
    _lines(pdf, f"Số: {spec.number}", _LEFT, _LEFT_COL, row, "", 13, _LINE)
    _lines(pdf, place_date_line(spec.place, spec.issue_date), _RIGHT_X, _RIGHT_W, row,
           "I", 14, _LINE)
    title = _balanced(pdf, spec.title.upper(), _TEXT_W, ("B", 14))
    y = _lines(pdf, title, _LEFT, _TEXT_W, row + _LINE + 8.0, "B", 14, _LINE)
    if spec.subject:
        lines = _balanced(pdf, spec.subject, _TEXT_W, ("B", 14))
        y = _lines(pdf, lines, _LEFT, _TEXT_W, y, "B", 14, _LINE)
        rule = 0.4 * max(pdf.get_string_width(line) for line in lines)  # Part II.5
        _rule(pdf, _LEFT + (_TEXT_W - rule) / 2, y + 1.5, rule)
    return y + 6.0


def _body(pdf: FPDF, spec: ResultSpec, y: float) -> float:
    """Draw the body paragraphs, justified; return the y after the last one."""
    paragraphs = [_wrap(pdf, text, _TEXT_W, ("", _BODY_PT), _INDENT) for text in spec.body]
    closing = _closing_height(pdf, spec)
    if closing > _CLOSING_LIMIT - _TOP:
        raise ValueError("the signature block and recipients do not fit on one page")
    for number, lines in enumerate(paragraphs, start=1):
        height = len(lines) * _LINE
        if (number == len(paragraphs) and y + height <= _PAGE_H - _BOTTOM
                and y + height + _CLOSING_GAP + closing > _CLOSING_LIMIT
                and height + _CLOSING_GAP + closing <= _CLOSING_LIMIT - _TOP):
            pdf.add_page()
            y = _TOP  # keep the last paragraph with the signature
        for index, line in enumerate(lines):
            if y + _LINE > _PAGE_H - _BOTTOM:
                pdf.add_page()
                y = _TOP
            indent = _INDENT if index == 0 else 0.0
            _justified(pdf, line, _LEFT + indent, y, _TEXT_W - indent,
                       last=index == len(lines) - 1)
            y += _LINE
        y += _PARA_GAP
    return y


def _closing_height(pdf: FPDF, spec: ResultSpec) -> float:
    titles = sum(len(_wrap(pdf, t.upper(), _RIGHT_W, ("B", _BODY_PT)))
                 for t in spec.signer_titles)
    signature = (titles + 1) * _LINE + _STAMP_AREA
    recipients = sum(len(_wrap(pdf, f"- {r}", _LEFT_COL - _HANG, ("", 11)))
                     for r in spec.recipients)
    return max(signature, 5.5 + 4.8 * recipients)


def _closing(pdf: FPDF, spec: ResultSpec, y: float) -> tuple[float, float, float, float]:
    """Draw "Nơi nhận" and the signature block; return the stamp area in page millimetres."""
    if y + _CLOSING_GAP + _closing_height(pdf, spec) > _CLOSING_LIMIT:
        pdf.add_page()
        y = _TOP
    else:
        y += _CLOSING_GAP
    if spec.recipients:  # Part II.9: "Nơi nhận:" bold italic 12, the list regular 11
        left = _put(pdf, "Nơi nhận:", _LEFT, y, _LEFT_COL, "BI", 12, height=5.5)
        for recipient in spec.recipients:
            wrapped = _wrap(pdf, f"- {recipient}", _LEFT_COL - _HANG, ("", 11))
            for index, line in enumerate(wrapped):
                x = _LEFT if index == 0 else _LEFT + _HANG
                left = _put(pdf, line, x, left, _LEFT_COL, "", 11, height=4.8)
    for title in spec.signer_titles:  # Part II.7: authority and position, bold capitals
        y = _lines(pdf, title.upper(), _RIGHT_X, _RIGHT_W, y, "B", _BODY_PT, _LINE)
    centre = _RIGHT_X + _RIGHT_W / 2
    stamp = (centre - _STAMP_W / 2, y + 1.0, centre + _STAMP_W / 2, y + 1.0 + _STAMP_H)
    _lines(pdf, spec.signer_name, _RIGHT_X, _RIGHT_W, y + _STAMP_AREA, "B", _BODY_PT, _LINE)
    return stamp


def _qr(pdf: FPDF, spec: ResultSpec) -> None:
    top = _PAGE_H - _BOTTOM - _QR
    pdf.image(io.BytesIO(spec.qr_png), x=_LEFT, y=top, w=_QR, h=_QR)
    caption = f"Mã kết quả: {spec.result_code} — quét mã QR để xác minh"
    x = _LEFT + _QR + 2.0
    lines = _wrap(pdf, caption, _PAGE_W - _RIGHT - x, ("", 9))
    _lines(pdf, lines, x, 0.0, top + (_QR - 4.2 * len(lines)) / 2, "", 9, 4.2, center=False)


def _put(pdf: FPDF, text: str, x: float, y: float, width: float, style: str, size: float,
         *, height: float = _LINE, center: bool = False) -> float:
    """Draw one line in a box of ``height`` starting at ``y``; return the next y."""
    pdf.set_font(_FAMILY, style, size)
    if center:
        x += (width - pdf.get_string_width(text)) / 2
    pdf.text(x, y + height / 2 + 0.3 * pdf.font_size, text)  # as fpdf2's cell() places text
    return y + height


def _lines(pdf: FPDF, text: str | list[str], x: float, width: float, y: float, style: str,
           size: float, height: float, *, center: bool = True) -> float:
    """Draw ``text`` (wrapped to ``width``) or the given lines; return the next y."""
    lines = _wrap(pdf, text, width, (style, size)) if isinstance(text, str) else text
    for line in lines:
        y = _put(pdf, line, x, y, width, style, size, height=height, center=center)
    return y


def _justified(pdf: FPDF, line: str, x: float, y: float, width: float, *,
               last: bool) -> None:
    words = line.split(" ")
    pdf.set_font(_FAMILY, "", _BODY_PT)
    if last or len(words) == 1:
        _put(pdf, line, x, y, width, "", _BODY_PT)
        return
    widths = [pdf.get_string_width(word) for word in words]
    gap = (width - sum(widths)) / (len(words) - 1)
    for word, word_width in zip(words, widths, strict=True):
        _put(pdf, word, x, y, word_width, "", _BODY_PT)
        x += word_width + gap


def _rule(pdf: FPDF, x: float, y: float, length: float) -> None:
    pdf.set_line_width(0.3)
    pdf.line(x, y, x + length, y)


def _wrap(pdf: FPDF, text: str, width: float, font: tuple[str, float],
          indent: float = 0.0) -> list[str]:
    """Greedy word wrap in ``font`` (style, size); a word longer than a line is cut."""
    pdf.set_font(_FAMILY, *font)
    lines: list[str] = []
    current = ""
    for word in text.split():
        room = width - (indent if not lines else 0.0)
        candidate = f"{current} {word}" if current else word
        if pdf.get_string_width(candidate) <= room:
            current = candidate
            continue
        if current:
            lines.append(current)
            room = width
        while len(word) > 1 and pdf.get_string_width(word) > room:
            cut = len(word) - 1
            while cut > 1 and pdf.get_string_width(word[:cut]) > room:
                cut -= 1
            lines.append(word[:cut])
            word, room = word[cut:], width
        current = word
    return [*lines, current] if current else lines or [""]


def _balanced(pdf: FPDF, text: str, width: float, font: tuple[str, float]) -> list[str]:
    """Wrap a centred heading; two lines are split where they come out most even."""
    lines = _wrap(pdf, text, width, font)
    words = text.split()

    def widest(cut: int) -> float:
        return max(pdf.get_string_width(" ".join(words[:cut])),
                   pdf.get_string_width(" ".join(words[cut:])))

    if len(lines) != 2:
        return lines
    best = min(range(1, len(words)), key=widest)
    return [" ".join(words[:best]), " ".join(words[best:])] if widest(best) <= width else lines
