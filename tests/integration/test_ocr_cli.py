"""``ocr_command`` end to end with tesseract: the PDF/A, the JSON report, the text file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocr_pipeline.cli import EXIT_OK, ocr_command
from tests.fixtures.pages import PageSize, PageSpec, cer, make_page, save_page

pytestmark = [
    pytest.mark.integration,
]


def test_json_and_text_with_form_feeds(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pages = [make_page(PageSpec(size=PageSize.HALF, document=n, font=font))
             for n, font in ((3, "noto-serif"), (1, "dejavu-sans"))]
    inputs = [save_page(page, tmp_path / f"trang-{n}.png") for n, page in enumerate(pages, 1)]
    out, text = tmp_path / "ho-so.pdf", tmp_path / "ho-so.txt"

    assert ocr_command(inputs, out, text, True) == EXIT_OK

    report = json.loads(capsys.readouterr().out)
    assert report["output"] == str(out)
    assert report["pdfa"] is True
    assert [page["number"] for page in report["pages"]] == [1, 2]
    for page, truth in zip(report["pages"], pages, strict=True):
        assert 0 <= page["confidence"] <= 100
        assert isinstance(page["needs_review"], bool)
        assert cer(truth.text, page["text"]) <= 0.02
    written = text.read_text(encoding="utf-8").split("\f")
    assert written == [page["text"] for page in report["pages"]]
