"""How a verification report is shown: the same words in JSON, on the CLI and on the page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from records.calendar import VN_TZ
from signing import VerificationReport
from signing.appearance import format_signing_time

__all__ = ["CHANGE_LABELS", "report_payload"]

CHANGE_LABELS = {
    "NONE": "Không có thay đổi sau khi ký",
    "LTA_UPDATES": "Chỉ bổ sung dữ liệu xác thực và dấu thời gian lưu trữ",
    "FORM_FILLING": "Chỉ bổ sung chữ ký số hợp lệ sau đó",
    "ANNOTATIONS": "Có thêm ghi chú sau khi ký",
    "OTHER": "Nội dung đã bị thay đổi sau khi ký",
}


def _time(moment: datetime | None) -> str | None:
    return format_signing_time(moment.astimezone(VN_TZ)) if moment else None


def report_payload(report: VerificationReport) -> dict[str, Any]:
    """Per signature: signer, organisation, chain, time, timestamp, integrity, what changed
    after it, PAdES level and the ETSI EN 319 102-1 indication."""
    return {
        "outcome": report.outcome.value,
        "message": report.message,
        "validated_at": _time(report.validated_at),
        "signatures": [{
            "field": s.field_name,
            "kind": "organisation" if s.organisation_signature else "personal",
            "signer": s.signer,
            "organisation": s.organisation,
            "chain": s.chain.value,
            "signing_time": _time(s.timestamp_time or s.claimed_time),
            "timestamp": _time(s.timestamp_time) if s.timestamp_valid else None,
            "intact": s.intact,
            "signature_valid": s.signature_valid,
            "changes_after": s.modification.value if s.modification else None,
            "changes_after_label": CHANGE_LABELS.get(s.modification.value, "")
            if s.modification else None,
            "changes_acceptable": s.modification_acceptable,
            "level": s.level.value if s.level else None,
            "indication": s.indication.value,
            "subindication": s.subindication,
            "label": s.label,
        } for s in report.signatures],
        "document_timestamps": [{
            "field": t.field_name, "time": _time(t.time), "authority": t.authority,
            "indication": t.indication.value, "label": t.label,
        } for t in report.timestamps],
    }
