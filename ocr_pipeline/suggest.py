"""Suggest document metadata from OCR text: owner id, name, dates, number/notation.

Suggestions only: the clerk confirms each one [DOMAIN "Required metadata for a digitised
document"]. Labels are matched without diacritics and case, because OCR loses marks more
often than letters ("Ho va ten"); values are taken from the text as read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

__all__ = ["MetadataSuggestion", "fold", "suggest_metadata"]

# A citizen identity number is exactly 12 digits [Law 26/2023 Art. 12]; longer runs are
# account or serial numbers and are ignored whole.
_PERSONAL_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_ID_LABEL = re.compile(r"(dinh danh|can cuoc|cccd|cmnd|chung minh)")
# Labels are matched on folded text: "Họ, chữ đệm và tên", "Họ và tên", "Họ tên".
_NAME_LABEL = re.compile(r"^\s*ho(?:\s*,\s*chu dem)?(?:\s+va)?\s+ten\b")
# Where a name ends on a form line: a gap, a comma, or the next field's label.
_NAME_END = re.compile(r"\s{2,}|\t|[,;(:]|\s(?:gioi tinh|ngay sinh|sinh ngay|nam sinh|"
                       r"dan toc|quoc tich|so dinh danh|cccd|cmnd|dien thoai|chuc vu)\b")
_NAME_WORD = re.compile(r"[^\W\d_]+")
_SHORT_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)")
_LONG_DATE = re.compile(r"ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})(?!\d)")
# Number/notation of an administrative document: "Số: 1234/QĐ-UBND", "15/2024/NĐ-CP"
# [Decree 30/2020 Appendix I, Part I.II.3].
_NOTATION = r"(\d{1,6}(?:/\d{4})?/[^\W\d_][^\W_]*(?:[-/.][^\W_]+)*)"
_NUMBER_WITH_COLON = re.compile(r"(?<![^\W_])so\s*:\s*" + _NOTATION)
_NUMBER_ANYWHERE = re.compile(r"(?<![^\W_])so\s+" + _NOTATION)


@dataclass(frozen=True, kw_only=True, slots=True)
class MetadataSuggestion:
    owner_id: str | None = None  # 12-digit personal id
    full_name: str | None = None  # title-cased
    dates: tuple[date, ...] = ()  # every date found, in reading order
    issue_date: date | None = None  # the "<place>, ngày .. tháng .. năm ...." date
    number: str | None = None  # number/notation, as printed ("1234/QĐ-UBND")


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one (so offsets carry over)."""
    folded = []
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        folded.append("d" if char in "đĐ" else base.lower() if len(base.lower()) == 1
                      else char)
    return "".join(folded)


def suggest_metadata(text: str) -> MetadataSuggestion:
    text = unicodedata.normalize("NFC", text)
    folded = fold(text)
    return MetadataSuggestion(owner_id=_owner_id(text, folded), full_name=_full_name(text),
                              dates=_dates(folded), issue_date=_issue_date(folded),
                              number=_number(text, folded))


def _owner_id(text: str, folded: str) -> str | None:
    """The 12-digit id on a line that names it (định danh, CCCD...), else the first one."""
    candidates = [(m.group(), m.start()) for m in _PERSONAL_ID.finditer(text)]
    for value, start in candidates:
        line_start = folded.rfind("\n", 0, start) + 1
        if _ID_LABEL.search(folded, line_start, start):
            return value
    return candidates[0][0] if candidates else None


def _full_name(text: str) -> str | None:
    """The words after the first name label, up to the line's end or the next field."""
    for line in text.splitlines():
        label = _NAME_LABEL.match(fold(line))
        if not label:
            continue
        rest = line[label.end():]
        value = rest.split(":", 1)[1] if ":" in rest else rest
        end = _NAME_END.search(fold(value).strip())
        value = value.strip()[:end.start()] if end else value.strip()
        words = value.strip(" .…").split()
        if 2 <= len(words) <= 7 and all(_NAME_WORD.fullmatch(word) for word in words):
            return " ".join(word[:1].upper() + word[1:].lower() for word in words)
    return None


def _dates(folded: str) -> tuple[date, ...]:
    found: list[tuple[int, date]] = []
    for pattern in (_SHORT_DATE, _LONG_DATE):
        for match in pattern.finditer(folded):
            day = _date(match)
            if day is not None:
                found.append((match.start(), day))
    ordered = [day for _, day in sorted(found, key=lambda item: item[0])]
    return tuple(dict.fromkeys(ordered))


def _issue_date(folded: str) -> date | None:
    """The date of the place-and-date line ("Hà Nội, ngày 05 tháng 3 năm 2024")."""
    for match in _LONG_DATE.finditer(folded):
        before = folded[folded.rfind("\n", 0, match.start()) + 1:match.start()].rstrip()
        if before.endswith(","):
            return _date(match)
    return None


def _number(text: str, folded: str) -> str | None:
    for pattern in (_NUMBER_WITH_COLON, _NUMBER_ANYWHERE):
        match = pattern.search(folded)
        if match:
            return text[match.start(1):match.end(1)]
    return None


def _date(match: re.Match[str]) -> date | None:
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
