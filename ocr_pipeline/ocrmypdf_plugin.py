"""ocrmypdf plugin: clean what tesseract sees, keep its hOCR, report pages as they finish.

Hooks: ``rasterize_pdf_page`` (a scan page's own image, not a rendering),
``filter_ocr_image`` (seals, ink and specks out of the OCR image), ``get_ocr_engine``
(tesseract, keeping each page's hOCR) and ``get_progressbar_class`` (pages done).

Loaded by name (``plugins=["ocr_pipeline.ocrmypdf_plugin"]``) from ``engine.make_archival_pdf``;
its hooks run only in jobs that ask for it. Per-job settings travel in ocrmypdf's options as
extra attributes (``motcua_results_dir``, ``motcua_clean``), which ocrmypdf pickles to its
page workers; the progress sink lives in the main process, where ocrmypdf keeps its
progress bars.

The archival page keeps the image as scanned; only the OCR image is changed
[DOMAIN "Digitisation rules"; the ``filter_ocr_image`` hook never touches the visible page].
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ocrmypdf import hookimpl
from ocrmypdf.builtin_plugins import tesseract_ocr
from ocrmypdf.imageops import has_decoded_pixels
from PIL import Image, ImageChops, ImageFilter

from ocr_pipeline import raster

__all__ = ["PROGRESS_DESC", "clean_for_ocr", "coloured_ink", "hocr_name", "noise_level",
           "reporting_progress"]

PROGRESS_DESC = "OCR"  # the description ocrmypdf gives the bar of its per-page pass

# Measured on generated pages (tests/fixtures/pages.py, bench/ocr.py): clean scans, blurred or
# JPEG-compressed ones, score under 0.002; 2% salt-and-pepper noise 0.013, 5% 0.025.
LIGHT_NOISE = 0.004  # from here a 3x3 median helps (0.3-0.4 s on an A4 page)
HEAVY_NOISE = 0.02  # from here a stronger median (FINDINGS "OCR": 97% -> 0.5% CER)
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
    global _progress_sink  # one ocr() per process at a time: engine._OCR_LOCK
    _progress_sink = sink
    try:
        yield
    finally:
        _progress_sink = None


def noise_level(image: Image.Image) -> float:
    """Fraction of specks in three full-width bands: cheap (15 ms on A4) and layout-blind."""
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
    """Fraction of clearly coloured pixels (chroma over 64) on a 1/4-scale copy (30 ms)."""
    if image.mode not in {"RGB", "RGBA", "CMYK", "P", "YCbCr"}:
        return 0.0
    red, green, blue = image.convert("RGB").reduce(4).split()
    chroma = ImageChops.subtract(ImageChops.lighter(ImageChops.lighter(red, green), blue),
                                 ImageChops.darker(ImageChops.darker(red, green), blue))
    return sum(chroma.histogram()[_CHROMA_STEP:]) / (chroma.width * chroma.height)


def clean_for_ocr(image: Image.Image) -> Image.Image:
    """What tesseract should see: coloured ink taken out, specks filtered, else untouched.

    Coloured pages become grey = max(R, G, B) + 2 (max - min): dark neutral print stays
    dark; saturated ink (red seals, blue signatures, their blurred or JPEG-smeared edges)
    goes to white; black print under a seal is dark in every channel and stays. FINDINGS
    "OCR": text under seals and signatures is lost unless the coloured ink is taken out. On
    12 generated noisy pages the chroma weight 2 gave 1.5% CER, 1 gave 2.0%, 3 gave 1.8%,
    plain max(R, G, B) 3.7%. A clean black-and-white page is passed on as it is: tesseract
    binarises colour input itself, and on clean pages that did at least as well.
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
        chroma = ImageChops.subtract(brightest,
                                     ImageChops.darker(ImageChops.darker(red, green), blue))
        grey = ImageChops.add(ImageChops.add(brightest, chroma), chroma)
    else:
        grey = image.convert("L")
    if level >= HEAVY_NOISE:
        grey = _despeckle_heavy(grey)
    elif level >= LIGHT_NOISE:
        grey = grey.filter(ImageFilter.MedianFilter(3))
    grey.info["dpi"] = image.info.get("dpi", (300, 300))  # ocrmypdf places the text by it
    # A temporary file read once by tesseract: fast zlib beats small (Pillow: encoderinfo).
    grey.encoderinfo = {"compress_level": 1}
    return grey


def _despeckle_heavy(grey: Image.Image) -> Image.Image:
    """A 3x3 median on a half-size copy, scaled back: as good as MedianFilter(5) (2.07% vs
    2.05% CER on 12 noisy A4 pages; FINDINGS: 5x5 took a page from 97% to 0.5%) in 0.2 s
    instead of 1.1-2.8 s, since Pillow's rank filter slows down on noise."""
    small = grey.reduce(2).filter(ImageFilter.MedianFilter(3))
    return small.resize(grey.size, Image.Resampling.BILINEAR)


@hookimpl
def rasterize_pdf_page(input_file: Path, output_file: Path, raster_device: str,
                       raster_dpi: Any, pageno: int, page_dpi: Any, rotation: int | None,
                       filter_vector: bool, stop_on_soft_error: bool, options: Any,
                       use_cropbox: bool) -> Path | None:
    """A scan page's own image instead of a pdfium rendering (``raster.sole_page_png``);
    ``None`` lets the built-in rasteriser (pypdfium2) do every other page."""
    if rotation or filter_vector or use_cropbox:
        return None
    if (page_dpi is not None
            and (float(page_dpi.x), float(page_dpi.y)) != (raster_dpi.x, raster_dpi.y)):
        return None  # ocrmypdf wants the image to state another resolution: rare, render
    png = raster.sole_page_png(Path(input_file), pageno,
                               (float(raster_dpi.x), float(raster_dpi.y)), str(raster_device))
    if png is None:
        return None
    Path(output_file).write_bytes(png)
    return Path(output_file)


@hookimpl
def filter_ocr_image(page: Any, image: Image.Image) -> Image.Image:
    """Clean the OCR image, then let the built-in hook downsample for tesseract's limits.

    The measurements read a second decode of the file, so that a page needing no cleaning
    is handed back undecoded and ocrmypdf links its file instead of re-encoding it (0.2 s
    for a clean A4 page at ocrmypdf's PNG compression, more for a noisy one). The
    hook is first-result, so ours replaces the built-in one; calling it keeps its guard
    against images larger than tesseract accepts (32767 px a side, 2 GiB).
    """
    if getattr(page.options, "motcua_clean", True):
        # If ocrmypdf already drew on it (masking text areas), the file is not the image.
        filename = "" if has_decoded_pixels(image) else getattr(image, "filename", "")
        with Image.open(filename) if filename else contextlib.nullcontext(image) as source:
            cleaned = clean_for_ocr(source)
            if cleaned is not source:
                image = cleaned
    result: Image.Image = tesseract_ocr.filter_ocr_image(page=page, image=image)
    return result


class RecordingTesseract(tesseract_ocr.TesseractOcrEngine):
    """The built-in tesseract engine, keeping each page's hOCR for the per-page results.

    With the sandwich renderer tesseract writes the text layer itself and, given its
    ``hocr`` config file as well (``tesseract_config=["hocr"]``), the hOCR in the same run.
    """

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path,
                      options: Any) -> None:
        tesseract_ocr.TesseractOcrEngine.generate_hocr(  # type: ignore[no-untyped-call]
            input_file, output_hocr, output_text, options)
        _keep_hocr(Path(output_hocr), Path(output_hocr), options)

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path,
                     options: Any) -> None:
        tesseract_ocr.TesseractOcrEngine.generate_pdf(  # type: ignore[no-untyped-call]
            input_file, output_pdf, output_text, options)
        _keep_hocr(Path(output_pdf), Path(output_pdf).with_suffix(".hocr"), options)


def _keep_hocr(page_file: Path, hocr: Path, options: Any) -> None:
    """Copy a page's hOCR to the job's results folder; an empty one if tesseract gave up on
    the page (timeout, "Empty page!!"), so the page still counts as OCR'd, with no words."""
    results_dir = getattr(options, "motcua_results_dir", None)
    match = _PAGE_FILE.match(page_file.name)  # ocrmypdf: "{page:06d}_..." (get_path)
    if not results_dir or not match:
        return
    target = Path(results_dir) / hocr_name(int(match[1]))
    if hocr.exists():
        shutil.copyfile(hocr, target)
    else:
        target.write_text("", encoding="utf-8")


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
