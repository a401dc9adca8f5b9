"""ocrmypdf plugin: clean what tesseract sees, keep its hOCR, report pages as they finish.

Loaded by name (``plugins=["ocr_pipeline.ocrmypdf_plugin"]``) from ``engine.make_archival_pdf``;
its hooks run only in jobs that ask for it. Per-job settings travel in ocrmypdf's options as
extra attributes (``motcua_results_dir``, ``motcua_clean``), which ocrmypdf pickles to its
page workers; the progress sink lives in the main process, where ocrmypdf keeps its
progress bars.

The archival page keeps the image as scanned; only the OCR image is changed
[DOMAIN "Digitisation rules"; the ``filter_ocr_image`` hook never touches the visible page].
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ocrmypdf import hookimpl
from ocrmypdf.builtin_plugins import tesseract_ocr
from PIL import Image, ImageChops, ImageFilter

__all__ = ["PROGRESS_DESC", "clean_for_ocr", "coloured_ink", "hocr_name", "noise_level",
           "reporting_progress"]

PROGRESS_DESC = "OCR"  # the description ocrmypdf gives the bar of its per-page pass

# Measured on generated pages (tests/fixtures/pages.py, bench/ocr.py): clean scans, blurred or
# JPEG-compressed ones, score under 0.002; 2% salt-and-pepper noise 0.013, 5% 0.025.
LIGHT_NOISE = 0.004  # from here a 3x3 median helps and costs ~0.15 s on an A4 page
HEAVY_NOISE = 0.02  # from here a 5x5 median: 97% -> 0.5% CER on a noisy page (FINDINGS "OCR")
_NOISE_STEP = 96  # a pixel the 3x3 median moves this far is a speck, not a stroke edge
_BAND_ROWS = 96
COLOURED_INK = 0.0005  # a seal or a signature covers 0.2-0.5% of an A4 page
_CHROMA_STEP = 64
_PAGE_FILE = re.compile(r"^(\d{6})_")

_progress_sink: Callable[[int, int], None] | None = None


def hocr_name(page_number: int) -> str:
    """Name under which the hOCR of page ``page_number`` (1-based) is kept."""
    return f"page-{page_number:06d}.hocr"


@contextmanager
def reporting_progress(sink: Callable[[int, int], None] | None) -> Iterator[None]:
    """Send ``(done, total)`` pages to ``sink`` during one ocrmypdf run in this process."""
    global _progress_sink  # one ocr( per process: engine._OCR_LOCK)
    _progress_sink = sink
    try:
        yield
    finally:
        _progress_sink = None


def noise_level(image: Image.Image) -> float:
    """Fraction of specks in three full-width bands: cheap (~15 ms on A4) and layout-blind."""
    width, height = image.size
    rows = min(_BAND_ROWS, height)
    tops = sorted({height * k // 4 for k in (1, 2, 3)}) if height >= 4 * rows else [0]
    specks = total = 0
    for top in tops:
        band = image.crop((0, top, width, min(height, top + rows))).convert("L")
        moved = ImageChops.difference(band, band.filter(ImageFilter.MedianFilter(3)))
        specks += sum(moved.histogram()[_NOISE_STEP:])
        total += band.width * band.height
    return specks / total if total else 0.0


def coloured_ink(image: Image.Image) -> float:
    """Fraction of clearly coloured pixels (chroma over 64) on a 1/4-scale copy (~20 ms)."""
    if image.mode not in {"RGB", "RGBA", "CMYK", "P", "YCbCr"}:
        return 0.0
    red, green, blue = image.convert("RGB").reduce(4).split()
    chroma = ImageChops.subtract(ImageChops.lighter(ImageChops.lighter(red, green), blue),
                                 ImageChops.darker(ImageChops.darker(red, green), blue))
    return sum(chroma.histogram()[_CHROMA_STEP:]) / (chroma.width * chroma.height)


def clean_for_ocr(image: Image.Image) -> Image.Image:
    """What tesseract should see: coloured ink taken out, specks filtered, else untouched.

    Coloured pages become grey = max(R, G, B) + (max - min): dark neutral print stays dark;
    saturated ink (red seals, blue signatures, and their blurred or JPEG-smeared edges) goes
    to white; black print under a seal is dark in every channel and stays. FINDINGS "OCR":
    text under red seals and blue signatures is lost unless the coloured ink is taken out.
    A clean black-and-white page is passed on as it is: tesseract binarises colour input
    itself, and on clean pages that did at least as well as any greyscale we gave it.
    """
    if image.mode == "1":
        return image
    coloured = coloured_ink(image) >= COLOURED_INK
    level = noise_level(image)
    if not coloured and level < LIGHT_NOISE:
        return image
    if coloured:
        red, green, blue = image.convert("RGB").split()
        brightest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
        darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
        grey = ImageChops.add(brightest, ImageChops.subtract(brightest, darkest))
    else:
        grey = image.convert("L")
    if level >= HEAVY_NOISE:
        grey = grey.filter(ImageFilter.MedianFilter(5))
    elif level >= LIGHT_NOISE:
        grey = grey.filter(ImageFilter.MedianFilter(3))
    grey.info["dpi"] = image.info.get("dpi", (300, 300))  # ocrmypdf places the text by it
    # A temporary file read once by tesseract: fast zlib beats small (Pillow: encoderinfo).
    grey.encoderinfo = {"compress_level": 1}
    return grey


@hookimpl
def filter_ocr_image(page: Any, image: Image.Image) -> Image.Image:
    """Clean the OCR image, then let the built-in hook downsample for tesseract's limits.

    The hook is first-result, so ours replaces the built-in one; calling it keeps its guard
    against images larger than tesseract accepts (32767 px a side, 2 GiB).
    """
    if getattr(page.options, "motcua_clean", True):
        image = clean_for_ocr(image)
    result: Image.Image = tesseract_ocr.filter_ocr_image(page=page, image=image)
    return result


class RecordingTesseract(tesseract_ocr.TesseractOcrEngine):
    """The built-in tesseract engine, keeping each page's hOCR for the per-page results."""

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path,
                      options: Any) -> None:
        tesseract_ocr.TesseractOcrEngine.generate_hocr(  # type: ignore[no-untyped-call]
            input_file, output_hocr, output_text, options)
        results_dir = getattr(options, "motcua_results_dir", None)
        match = _PAGE_FILE.match(Path(output_hocr).name)
        if results_dir and match:
            # ocrmypdf names page files "{page:06d}_..." (PageContext.get_path).
            shutil.copyfile(output_hocr, Path(results_dir) / hocr_name(int(match[1])))


@hookimpl
def get_ocr_engine(options: Any) -> tesseract_ocr.TesseractOcrEngine | None:
    if options is not None and getattr(options, "ocr_engine", "auto") not in {"auto",
                                                                               "tesseract"}:
        return None
    return RecordingTesseract()


class _PageProgress:
    """ocrmypdf's ProgressBar protocol; forwards whole pages of the OCR pass to the sink.

    ocrmypdf reports each page in two halves (OCR done, page grafted); a page counts once
    both are in. Other passes (scanning, PDF/A) are ignored.
    """

    def __init__(self, *, total: float | None = None, desc: str | None = None,
                 unit: str | None = None, disable: bool = False, **_: Any) -> None:
        self._sink = _progress_sink if desc == PROGRESS_DESC and unit == "page" else None
        self._total = int(total or 0)
        self._done = 0.0
        self._reported = 0

    def __enter__(self) -> _PageProgress:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, n: float = 1, *, completed: float | None = None) -> None:
        self._done = completed if completed is not None else self._done + n
        whole = min(int(self._done + 1e-9), self._total)
        if self._sink is not None and whole > self._reported:
            self._reported = whole
            self._sink(whole, self._total)


@hookimpl
def get_progressbar_class() -> type[_PageProgress]:
    return _PageProgress
