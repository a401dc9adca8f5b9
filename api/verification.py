"""How a verification report is shown: the same words in JSON, on the CLI and on the page."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from records.calendar import VN_TZ
from signing import VerificationReport
from signing.appearance import format_signing_time

__all__ = ["CHANGE_LABELS", "ReportCache", "report_payload"]

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


class ReportCache:
    """The verification payloads of sealed results, for the page their QR code opens.

    Validating a sealed PDF costs about 50-200 ms of CPU (docs/benchmarks.md), and a public
    page that anyone can reload must not cost that each time. The report of the same bytes
    changes only with time (a certificate expiring, a revocation being published), so it is
    kept for ``ttl_seconds`` (default five minutes): the page's "validated at" says when
    it was made. The key is the SHA-256 of the bytes actually read from the blob store, not
    the hash the database claims, so a blob altered on disk is validated afresh and shows
    as altered at once. Thread-safe; least recently used entries go first."""

    def __init__(self, *, ttl_seconds: float = 300.0, max_entries: int = 512,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def payload(self, pdf: bytes,
                verify: Callable[[bytes], VerificationReport]) -> dict[str, Any]:
        key = hashlib.sha256(pdf).hexdigest()
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and 0 <= now - hit[0] < self._ttl:
                self._entries.move_to_end(key)
                return hit[1]
        fresh = report_payload(verify(pdf))  # outside the lock: two misses may both verify
        with self._lock:
            self._entries[key] = (now, fresh)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return fresh
