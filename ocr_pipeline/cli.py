"""``motcua ocr INPUT... --out OUT.pdf [--text OUT.txt] [--json]``: the command's body.

Wired into the Typer app by ``api.cli``; this module only needs paths and flags. Exit codes:
0 done, 1 the OCR failed, 2 an input was refused (the clerk reads why, in Vietnamese).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from ocrmypdf.exceptions import ExitCodeException

from ocr_pipeline.engine import OcrOptions, OcrOutcome, make_archival_pdf
from ocr_pipeline.intake import IntakeLimits, Refusal, inspect_upload
from records.errors import DomainError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_REFUSED", "ocr_command"]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def ocr_command(inputs: list[Path], out: Path, text_out: Path | None, as_json: bool) -> int:
    # ocrmypdf warns "[tesseract] lots of diacritics" on every Vietnamese page (harmless,
    # FINDINGS "OCR"); the clerk reads our summary, and failures come as exceptions.
    logging.getLogger("ocrmypdf").setLevel(logging.ERROR)
    limits = IntakeLimits()
    for path in inputs:
        if not path.is_file():
            return _refuse(path, f"Không tìm thấy tệp: {path}.")
        inspection = inspect_upload(path, limits)
        if isinstance(inspection, Refusal):
            return _refuse(path, inspection.message)
        if inspection.signed:
            # DOMAIN "E-signatures": do not OCR a signed PDF, it would break the signature.
            return _refuse(path, "Tệp PDF đã được ký số nên không được nhận dạng lại (sẽ làm "
                                 "hỏng chữ ký); hãy lưu tệp gốc kèm văn bản trích xuất.")
    try:
        outcome = make_archival_pdf(inputs, out, OcrOptions(
            max_image_mpixels=limits.max_pixels / 1e6))
    except DomainError as exc:
        return _refuse(None, exc.message)
    except (ExitCodeException, OSError, subprocess.SubprocessError) as exc:
        print(f"Nhận dạng thất bại: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if text_out is not None:
        # Form feed between pages, as pdftotext and ocrmypdf's sidecar do.
        text_out.write_text("\f".join(page.text for page in outcome.pages), encoding="utf-8")
    print(_as_json(outcome, out) if as_json else _summary(outcome, out))
    return EXIT_OK


def _refuse(path: Path | None, message: str) -> int:
    prefix = f"{path.name}: " if path is not None else ""
    print(f"{prefix}{message}", file=sys.stderr)
    return EXIT_REFUSED


def _as_json(outcome: OcrOutcome, out: Path) -> str:
    return json.dumps({
        "output": str(out),
        "pdfa": outcome.pdfa,
        "mean_confidence": _round(outcome.mean_confidence),
        "pages": [{"number": page.number, "confidence": _round(page.confidence),
                   "needs_review": page.needs_review, "ocr_done": page.ocr_done,
                   "text": page.text} for page in outcome.pages],
    }, ensure_ascii=False, indent=2)


def _summary(outcome: OcrOutcome, out: Path) -> str:
    lines = [f"Đã lưu bản lưu trữ {'PDF/A-2b' if outcome.pdfa else 'PDF'}: {out}"]
    for page in outcome.pages:
        if not page.ocr_done:
            state = "đã có sẵn văn bản, không nhận dạng lại"
        elif page.confidence is None:
            state = "không nhận dạng được chữ nào, cần kiểm tra"
        else:
            state = f"độ tin cậy {_percent(page.confidence)}"
            state += ", cần kiểm tra" if page.needs_review else ""
        lines.append(f"  Trang {page.number}: {state}")
    return "\n".join(lines)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _percent(value: float) -> str:
    return f"{value:.1f}%".replace(".", ",")  # Vietnamese decimal comma
