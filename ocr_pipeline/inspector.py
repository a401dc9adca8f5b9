"""``records.ports.UploadInspector`` on ``ocr_pipeline.intake``."""

from __future__ import annotations

from pathlib import Path

from ocr_pipeline.intake import IntakeLimits, Refusal, inspect_upload
from records.ports import UploadFacts, UploadRefusal

__all__ = ["IntakeInspector"]


class IntakeInspector:
    def __init__(self, limits: IntakeLimits) -> None:
        self._limits = limits

    def inspect(self, path: Path) -> UploadFacts | UploadRefusal:
        verdict = inspect_upload(path, self._limits)
        if isinstance(verdict, Refusal):
            return UploadRefusal(code=verdict.code.value, message=verdict.message)
        dpi = round(min(verdict.dpi)) if verdict.dpi and min(verdict.dpi) > 0 else None
        return UploadFacts(media_type=verdict.media_type, page_count=verdict.page_count,
                           signed=verdict.signed, has_text=verdict.has_text,
                           resolution_dpi=dpi)
