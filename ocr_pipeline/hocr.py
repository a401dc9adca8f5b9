"""Read tesseract's hOCR: the page text in tesseract's reading order, and word confidences.

hOCR is the only place where tesseract reports a confidence per word (``x_wconf``, 0-100);
its lines come in the same order as tesseract's own text output, so the text is rebuilt from
it rather than read back from the PDF (``pdftotext`` reorders skewed lines: FINDINGS "OCR").

The parser is the standard library's ``html.parser``: it never resolves entities from a DTD
or fetches anything, and it tolerates the XHTML tesseract writes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["HocrPage", "parse_hocr"]

_LINE_CLASSES = frozenset({"ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat",
                           "ocr_footer"})
_PARAGRAPH_CLASSES = frozenset({"ocr_par", "ocr_carea"})
_WCONF = re.compile(r"x_wconf\s+(-?\d+(?:\.\d+)?)")
_BBOX = re.compile(r"bbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)")
# A "word" tesseract makes of a stray seal or pen fragment: no letter or digit and a low
# confidence. Dropping it keeps "` + ——" lines out of the text a clerk reads.
_JUNK_CONFIDENCE = 50.0


@dataclass(frozen=True, kw_only=True, slots=True)
class HocrPage:
    """One OCR'd page. ``confidence`` is the mean word confidence, ``None`` without words."""

    text: str
    confidence: float | None
    word_confidences: tuple[float, ...]
    width_px: int | None
    height_px: int | None


def parse_hocr(markup: str) -> HocrPage:
    parser = _HocrParser()
    parser.feed(markup)
    parser.close()
    paragraphs = ["\n".join(" ".join(words) for words in para if words)
                  for para in parser.paragraphs]
    text = unicodedata.normalize("NFC", "\n\n".join(p for p in paragraphs if p))
    confidences = tuple(parser.confidences)
    mean = sum(confidences) / len(confidences) if confidences else None
    return HocrPage(text=text, confidence=mean, word_confidences=confidences,
                    width_px=parser.size[0] if parser.size else None,
                    height_px=parser.size[1] if parser.size else None)


def _is_junk(word: str, confidence: float | None) -> bool:
    return (confidence is not None and confidence < _JUNK_CONFIDENCE
            and not any(c.isalnum() for c in word))


class _HocrParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[list[list[str]]] = [[[]]]
        self.confidences: list[float] = []
        self.size: tuple[int, int] | None = None
        self._word: list[str] | None = None
        self._word_conf: float | None = None
        self._depth = 0  # tags opened inside the current word (<strong>, <em>)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._word is not None:
            self._depth += 1
            return
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        title = attributes.get("title") or ""
        if "ocr_page" in classes and (box := _BBOX.search(title)):
            self.size = (int(box[3]) - int(box[1]), int(box[4]) - int(box[2]))
        if classes & _PARAGRAPH_CLASSES and any(self.paragraphs[-1]):
            self.paragraphs.append([[]])
        if classes & _LINE_CLASSES:
            self.paragraphs[-1].append([])
        if "ocrx_word" in classes:
            conf = _WCONF.search(title)
            self._word, self._word_conf, self._depth = [], float(conf[1]) if conf else None, 0

    def handle_endtag(self, tag: str) -> None:
        if self._word is None:
            return
        if self._depth:
            self._depth -= 1
            return
        word = "".join(self._word).strip()
        if word and not _is_junk(word, self._word_conf):
            self.paragraphs[-1][-1].append(word)
            if self._word_conf is not None:
                self.confidences.append(self._word_conf)
        self._word = None

    def handle_data(self, data: str) -> None:
        if self._word is not None:
            self._word.append(data)
