"""The archival copy: one two-layer PDF/A-2b (page image + OCR text) from a clerk's scans.

[Circular 01/2023 Art. 8; Decree 30/2020 Appendix I: the preservation copy is a two-layer
PDF/A; DOMAIN "Digitisation rules"]. The page images are kept as scanned; only the image
tesseract sees is cleaned (``ocrmypdf_plugin``).

One ``ocrmypdf.ocr()`` per process at a time: ocrmypdf keeps interpreter-global state (the
installed plugin set, Pillow's pixel limit, its progress bar), and this module adds its own
(the progress sink, ``OMP_THREAD_LIMIT``). ``make_archival_pdf`` serialises callers with a
lock; a service runs it in a worker process, or through ``isolation.run_isolated`` so that
a hang or a memory bomb costs one child process. In a daemonic worker process (which may
not start children) ocrmypdf is told to use threads; tesseract still runs as a process.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ocrmypdf
import pikepdf
from ocrmypdf.exceptions import ExitCode

from ocr_pipeline import ocrmypdf_plugin
from ocr_pipeline.assemble import assemble_pdf
from ocr_pipeline.hocr import HocrPage, parse_hocr

__all__ = ["OcrOptions", "OcrOutcome", "PageResult", "extract_text", "make_archival_pdf"]

Progress = Callable[[int, int], None]
_OCR_LOCK = threading.Lock()
_PDFTOTEXT_TIMEOUT_S = 120.0


@dataclass(frozen=True, kw_only=True, slots=True)
class OcrOptions:
    languages: tuple[str, ...] = ("vie", "eng")
    jobs: int = 2  # pages OCR'd at once; FINDINGS: parallelise pages, not tesseract threads
    review_threshold: float = 80.0  # a page under this mean word confidence needs a look
    default_dpi: int = 300  # for images that carry no resolution
    clean: bool = True  # drop seals and coloured ink, de-speckle, in what tesseract sees
    max_image_mpixels: float = 250.0  # intake.IntakeLimits.max_pixels, for ocrmypdf
    page_timeout_s: float = 180.0  # tesseract gives up on a page after this


@dataclass(frozen=True, kw_only=True, slots=True)
class PageResult:
    number: int  # 1-based, in the order of the inputs
    text: str  # NFC, in tesseract's reading order; lines separated by newlines
    confidence: float | None  # mean word confidence 0-100; None without OCR'd words
    needs_review: bool
    ocr_done: bool  # False: the page already carried text and was left as it was
    width_px: int | None  # of the image OCR ran on; None when not OCR'd
    height_px: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class OcrOutcome:
    pages: tuple[PageResult, ...]
    pdfa: bool  # the output declares PDF/A-2 in its XMP (pdfaid:part 2)
    mean_confidence: float | None  # over every OCR'd word of the document

    @property
    def needs_review(self) -> bool:
        return any(page.needs_review for page in self.pages)


def make_archival_pdf(inputs: Sequence[Path], output: Path,
                      options: OcrOptions = OcrOptions(),
                      progress: Progress | None = None) -> OcrOutcome:
    """OCR ``inputs`` (images and PDFs, in order) into one PDF/A-2b at ``output``.

    Pages that already carry text are not OCR'd again (ocrmypdf ``skip_text``); their text
    is read back. ``progress(done, total)`` is called in this thread as pages finish.
    Signed PDFs are refused (``records.errors.InvalidInput``): use ``extract_text``.
    """
    if not inputs:
        raise ValueError("make_archival_pdf needs at least one input")
    with _OCR_LOCK, tempfile.TemporaryDirectory(prefix="motcua-ocr-") as tmp:
        work = Path(tmp)
        combined, hocr_dir = work / "combined.pdf", work / "hocr"
        hocr_dir.mkdir()
        page_count = assemble_pdf(inputs, combined, default_dpi=options.default_dpi)
        with (_omp_single_thread(), _standard_streams_kept(),
              ocrmypdf_plugin.reporting_progress(progress)):
            code = _ocr(combined, output, hocr_dir, options)
        if code not in {ExitCode.ok, ExitCode.pdfa_conversion_failed}:  # the latter: pdfa=False
            output.unlink(missing_ok=True)
            raise RuntimeError(f"ocrmypdf failed: {code!r}")
        pages = _page_results(output, hocr_dir, page_count, options)
    words = [conf for _, hocr in pages if hocr for conf in hocr.word_confidences]
    return OcrOutcome(pages=tuple(result for result, _ in pages), pdfa=_is_pdfa2(output),
                      mean_confidence=sum(words) / len(words) if words else None)


def _ocr(combined: Path, output: Path, hocr_dir: Path, options: OcrOptions) -> ExitCode:
    # Written to an open file, ocrmypdf skips its final check_pdf, which decodes every
    # stream of the output again (0.25 s for six A4 pages); the output's PDF/A claim is
    # checked here, and qpdf --check in tests/integration/test_ocr_engine.py.
    try:
        with output.open("wb") as stream:
            return ocrmypdf.ocr(
                combined, stream,
                language=list(options.languages),
                output_type="pdfa-2",
                pdfa_backend="internal",  # no Ghostscript: ocrmypdf 17 writes PDF/A itself
                skip_text=True,
                jobs=options.jobs,
                use_threads=multiprocessing.current_process().daemon,
                optimize=0,  # the archival copy keeps its images as scanned
                # Tesseract writes the text layer and, through its "hocr" config file, the
                # hOCR with the word confidences, in one run; the fpdf2 renderer drew the
                # layer in Python in the main process, 0.35 s a page (bench/ocr.py).
                pdf_renderer="sandwich",
                tesseract_config=["hocr"],
                max_image_mpixels=options.max_image_mpixels,
                tesseract_timeout=options.page_timeout_s,
                progress_bar=True,
                plugins=[ocrmypdf_plugin.__name__],
                motcua_results_dir=str(hocr_dir),
                motcua_clean=options.clean,
            )
    except BaseException:
        output.unlink(missing_ok=True)
        raise


def extract_text(pdf: Path) -> list[str]:
    """Per-page text of ``pdf``, read without modifying it (for signed PDFs).

    ``pdftotext -raw`` keeps the content-stream order; its default layout mode scrambled
    skewed pages (13% against 0.95% CER, FINDINGS "OCR").
    """
    result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        ["pdftotext", "-raw", "-enc", "UTF-8", "-q", str(pdf), "-"],  # noqa: S607
        capture_output=True, check=True, timeout=_PDFTOTEXT_TIMEOUT_S)
    pages = result.stdout.decode("utf-8", errors="replace").split("\f")[:-1]
    return [unicodedata.normalize("NFC", page).strip("\n") for page in pages]


def _page_results(output: Path, hocr_dir: Path, page_count: int,
                  options: OcrOptions) -> list[tuple[PageResult, HocrPage | None]]:
    results: list[tuple[PageResult, HocrPage | None]] = []
    kept_text: list[str] | None = None
    for number in range(1, page_count + 1):
        hocr_file = hocr_dir / ocrmypdf_plugin.hocr_name(number)
        if hocr_file.exists():
            page = parse_hocr(hocr_file.read_text(encoding="utf-8"))
            review = page.confidence is None or page.confidence < options.review_threshold
            results.append((PageResult(number=number, text=page.text,
                                       confidence=page.confidence, needs_review=review,
                                       ocr_done=True, width_px=page.width_px,
                                       height_px=page.height_px), page))
            continue
        if kept_text is None:
            kept_text = extract_text(output)
        text = kept_text[number - 1] if number <= len(kept_text) else ""
        results.append((PageResult(number=number, text=text, confidence=None,
                                   needs_review=False, ocr_done=False, width_px=None,
                                   height_px=None), None))
    return results


def _is_pdfa2(path: Path) -> bool:
    with pikepdf.open(path) as pdf:
        return pdf.open_metadata().get("pdfaid:part") == "2"


@contextmanager
def _standard_streams_kept() -> Iterator[None]:
    """Put ``sys.stdout``/``sys.stderr`` back after ocrmypdf.

    pikepdf 10.17's ``Pdf.check_linearization(stream)`` points ``sys.stderr`` at ``stream``
    and leaves it there when it raises, which it does for every file that is not linearised;
    ocrmypdf's ``check_pdf`` calls it on each output written to a path. Everything the
    process wrote to ``sys.stderr`` afterwards (tracebacks, the CLI's messages) vanished into
    a StringIO. ``_ocr`` writes to a stream, which skips that check, but ocrmypdf may call it
    elsewhere in a later release.
    """
    stdout, stderr = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


@contextmanager
def _omp_single_thread() -> Iterator[None]:
    """OMP_THREAD_LIMIT=1 for tesseract: with its own threads a page took 2.4-15.6 s on
    2 cores, with one 1.0-1.5 s (FINDINGS "OCR"). ocrmypdf reads it before the pages."""
    saved = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("OMP_THREAD_LIMIT", None)
        else:
            os.environ["OMP_THREAD_LIMIT"] = saved
