"""The archival copy with real tesseract: PDF/A-2b, pages in order, text, confidences.

Half A4 pages (2480 x 1754 at 300 dpi) keep the OCR runs short: the main two-page run takes
a few seconds, and the module well under a minute.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from ocr_pipeline.engine import OcrOptions, OcrOutcome, extract_text, make_archival_pdf
from ocr_pipeline.isolation import run_isolated
from records.errors import InvalidInput
from tests.fixtures.pages import GeneratedPage, PageSize, PageSpec, cer, make_page, save_page

pytestmark = [
    pytest.mark.integration,
]

OPTIONS = OcrOptions(jobs=2)


@dataclass
class Run:
    outcome: OcrOutcome
    output: Path
    truths: tuple[GeneratedPage, GeneratedPage]
    inputs: tuple[Path, Path]
    progress: list[tuple[int, int]]
    omp_before: str | None
    streams_kept: bool


class ProgressFile:
    """A picklable progress sink for the isolated run (a closure cannot cross processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, done: int, total: int) -> None:
        with self.path.open("a", encoding="ascii") as stream:
            stream.write(f"{done} {total}\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("ocr")
    clean = make_page(PageSpec(size=PageSize.HALF, document=0, font="noto-serif"))
    noisy = make_page(PageSpec(size=PageSize.HALF, document=2, font="noto-sans", noise=0.06,
                               seal=True, signature=True, jpeg_quality=85, seed=3))
    inputs = (save_page(clean, folder / "clean.png"), save_page(noisy, folder / "noisy.jpg"))
    progress: list[tuple[int, int]] = []
    output = folder / "archival.pdf"
    omp_before = os.environ.get("OMP_THREAD_LIMIT")
    streams = (sys.stdout, sys.stderr)
    outcome = make_archival_pdf(list(inputs), output, OPTIONS,
                                progress=lambda done, total: progress.append((done, total)))
    return Run(outcome=outcome, output=output, truths=(clean, noisy), inputs=inputs,
               progress=progress, omp_before=omp_before,
               streams_kept=(sys.stdout, sys.stderr) == streams)


def test_the_output_is_pdfa_2b_and_passes_qpdf_check(run: Run) -> None:
    assert run.outcome.pdfa
    with pikepdf.open(run.output) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2"
        assert meta.get("pdfaid:conformance") == "B"
    check = subprocess.run(["qpdf", "--check", str(run.output)], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_two_pages_in_the_order_given(run: Run) -> None:
    assert [page.number for page in run.outcome.pages] == [1, 2]
    with pikepdf.open(run.output) as pdf:
        assert len(pdf.pages) == 2
    assert "ĐƠN ĐĂNG KÝ ĐẤT ĐAI" in run.outcome.pages[0].text
    assert "QUYẾT ĐỊNH" in run.outcome.pages[1].text


def test_the_page_images_are_kept_as_scanned(run: Run) -> None:
    with pikepdf.open(run.output) as pdf:
        first = [pikepdf.PdfImage(x) for x in pdf.pages[0].get_images().values()]
        second = [pikepdf.PdfImage(x) for x in pdf.pages[1].get_images().values()]
        assert len(first) == len(second) == 1
        # The PNG is lossless: same pixels. The JPEG is embedded as it was: same bytes.
        with Image.open(run.inputs[0]) as original:
            assert first[0].as_pil_image().convert("RGB").tobytes() == \
                original.convert("RGB").tobytes()
        assert second[0].obj.Filter == pikepdf.Name.DCTDecode
        assert second[0].obj.read_raw_bytes() == run.inputs[1].read_bytes()


def test_the_clean_page_reads_with_at_most_2_percent_cer(run: Run) -> None:
    clean, noisy = run.outcome.pages
    assert cer(run.truths[0].text, clean.text) <= 0.02
    # The noisy page (salt-and-pepper, red seal, blue signature, JPEG) is cleaned for OCR:
    # measured 0.8%; the same page without the cleaning (OcrOptions(clean=False)) 64%.
    assert cer(run.truths[1].text, noisy.text) <= 0.03


def test_confidences_are_reported(run: Run) -> None:
    for page in run.outcome.pages:
        assert page.ocr_done
        assert page.confidence is not None
        assert 0 <= page.confidence <= 100
        assert page.needs_review == (page.confidence < OPTIONS.review_threshold)
        assert (page.width_px, page.height_px) == (2480, 1754)
    assert run.outcome.mean_confidence is not None


def test_progress_reaches_two_of_two(run: Run) -> None:
    assert run.progress[-1] == (2, 2)
    assert run.progress == sorted(run.progress)


def test_the_text_layer_is_searchable(run: Run) -> None:
    layer = extract_text(run.output)
    assert len(layer) == 2
    assert cer(run.truths[0].text, layer[0]) <= 0.02


def test_the_environment_is_left_as_found(run: Run) -> None:
    # OMP_THREAD_LIMIT=1 is set for tesseract during the run only.
    assert os.environ.get("OMP_THREAD_LIMIT") == run.omp_before
    # pikepdf's check_linearization, called by ocrmypdf, leaves sys.stderr on a StringIO.
    assert run.streams_kept


def test_a_page_that_has_text_is_not_ocrd_again(tmp_path: Path) -> None:
    page = make_page(PageSpec(size=PageSize.HALF, document=3, font="dejavu-serif"))
    image = save_page(page, tmp_path / "page.png")
    # A PDF OCR'd elsewhere: tesseract's own image + invisible text page.
    subprocess.run(["tesseract", str(image), str(tmp_path / "texted"), "-l", "vie+eng", "pdf"],
                   check=True, capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    texted = tmp_path / "texted.pdf"
    before = extract_text(texted)
    outcome = make_archival_pdf([texted], tmp_path / "out.pdf", OPTIONS)
    [result] = outcome.pages
    assert not result.ocr_done
    assert result.confidence is None
    assert not result.needs_review
    assert result.text == before[0]
    assert "GIẤY XÁC NHẬN" in result.text
    assert outcome.pdfa
    assert outcome.mean_confidence is None


def test_extract_text_leaves_the_file_byte_identical(run: Run) -> None:
    digest = hashlib.sha256(run.output.read_bytes()).hexdigest()
    stat = run.output.stat()
    pages = extract_text(run.output)
    assert len(pages) == 2
    assert hashlib.sha256(run.output.read_bytes()).hexdigest() == digest
    assert run.output.stat().st_mtime_ns == stat.st_mtime_ns


def test_a_signed_pdf_is_refused_before_any_ocr(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    signature = pikepdf.Dictionary(Type=pikepdf.Name.Sig, ByteRange=[0, 1, 2, 3])
    field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, V=signature))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field])
    pdf.save(tmp_path / "signed.pdf")
    with pytest.raises(InvalidInput) as caught:
        make_archival_pdf([tmp_path / "signed.pdf"], tmp_path / "out.pdf", OPTIONS)
    assert caught.value.code == "pdf_signed"
    assert not (tmp_path / "out.pdf").exists()


def test_isolated_in_a_child_process_with_a_memory_cap(run: Run, tmp_path: Path) -> None:
    sink = ProgressFile(tmp_path / "progress")
    outcome = run_isolated(make_archival_pdf, [run.inputs[0]], tmp_path / "out.pdf", OPTIONS,
                           sink, timeout_s=120, memory_bytes=2 << 30)
    assert outcome.pdfa
    assert len(outcome.pages) == 1
    assert outcome.pages[0].text == run.outcome.pages[0].text
    assert sink.path.read_text().splitlines()[-1] == "1 1"
