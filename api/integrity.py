"""``motcua check``: the signing package behind the sweep's ``ResultVerifier`` port, and the
report as the operator reads it (Vietnamese text, or JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from records.integrity import FindingKind, IntegrityReport, SignatureCheck
from signing import ValidationSetup, VerificationOutcome, verify_pdf
from signing.report import Indication

__all__ = ["PadesResultVerifier", "check_payload", "check_text"]


class PadesResultVerifier:
    """``records.integrity.ResultVerifier`` on ``signing.verify_pdf`` (ETSI EN 319 102-1)."""

    def __init__(self, validation: Callable[[], ValidationSetup]) -> None:
        self._validation = validation

    def verify(self, pdf: bytes) -> SignatureCheck:
        try:
            report = verify_pdf(pdf, validation=self._validation())
        except Exception as exc:  # any damage is a finding about the file, not a crash
            name = type(exc).__name__
            return SignatureCheck(valid=False, message=f"không đọc được chữ ký ({name}).")
        if report.outcome is VerificationOutcome.ALL_PASSED:
            return SignatureCheck(valid=True, message=report.message)
        failing = [f"{s.signer or s.field_name}: {s.label}" for s in report.signatures
                   if s.indication is not Indication.TOTAL_PASSED]
        return SignatureCheck(valid=False,
                              message=" ".join([report.message, "; ".join(failing)]).strip())


_HEADINGS = {
    FindingKind.BLOB_MISSING: "Tệp bị mất",
    FindingKind.BLOB_CORRUPT: "Tệp bị hỏng",
    FindingKind.BLOB_SIZE: "Tệp sai kích thước",
    FindingKind.BLOB_UNAVAILABLE: "Kho tệp không truy cập được",
    FindingKind.BLOB_ORPHAN: "Tệp không được tham chiếu",
    FindingKind.RESULT_INVALID: "Kết quả không hợp lệ",
    FindingKind.AUDIT_BROKEN: "Nhật ký kiểm toán bị phá vỡ",
    FindingKind.AUDIT_WAITING: "Nhật ký truy cập chưa vào chuỗi",
    FindingKind.INDEX_MISSING: "Chỉ mục thiếu",
    FindingKind.INDEX_STALE: "Chỉ mục đã cũ",
    FindingKind.INDEX_EXTRA: "Chỉ mục thừa",
    FindingKind.JOB_STUCK: "Tác vụ bị treo",
    FindingKind.JOB_QUARANTINED: "Tác vụ đã dừng",
}


def check_payload(report: IntegrityReport) -> dict[str, Any]:
    return {
        "clean": report.clean,
        "problems": len(report.problems),
        "notices": len(report.findings) - len(report.problems),
        "checked": {"blobs": report.blobs_checked, "bytes": report.bytes_checked,
                    "blobs_stored": report.blobs_stored, "results": report.results_checked,
                    "audit_entries": report.audit_checked,
                    "index_entries": report.index_checked},
        "seconds": report.seconds,
        "timings": report.timings,
        "findings": [{"kind": f.kind.value, "severity": f.severity.value, "object": f.object,
                      "where": f.where, "message": f.message} for f in report.findings],
    }


def check_text(report: IntegrityReport) -> str:
    lines = [
        f"Đã kiểm tra {report.blobs_checked} tệp ({report.bytes_checked:,} byte), "
        f"{report.results_checked} kết quả đã ký, {report.audit_checked} bản ghi nhật ký, "
        f"{report.index_checked} mục chỉ mục trong {report.seconds:.1f} giây.",
    ]
    for finding in report.findings:
        mark = "LỖI" if finding.severity.value == "problem" else "Lưu ý"
        lines.append(f"- [{mark}] {_HEADINGS[finding.kind]} — {finding.object} "
                     f"({finding.where}): {finding.message}")
    lines.append("Hệ thống toàn vẹn: không phát hiện lỗi." if report.clean else
                 f"PHÁT HIỆN {len(report.problems)} LỖI: xem danh sách trên.")
    return "\n".join(lines)
