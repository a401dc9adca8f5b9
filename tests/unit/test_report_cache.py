"""The QR page's verification cache: same bytes within the TTL validate once; altered bytes,
another day or a full cache validate afresh."""

from __future__ import annotations

from datetime import UTC, datetime

from api.verification import ReportCache
from signing import VerificationOutcome, VerificationReport

AT = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)


class Validator:
    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, pdf: bytes) -> VerificationReport:
        self.seen.append(pdf)
        outcome = (VerificationOutcome.ALL_PASSED if pdf.startswith(b"%PDF")
                   else VerificationOutcome.NOT_A_PDF)
        return VerificationReport(outcome=outcome, validated_at=AT)


def test_the_same_bytes_are_validated_once_within_the_ttl_and_again_after() -> None:
    now = [0.0]
    cache, validate = ReportCache(ttl_seconds=300, clock=lambda: now[0]), Validator()
    first = cache.payload(b"%PDF-1.7 sealed", validate)
    now[0] = 299.0
    assert cache.payload(b"%PDF-1.7 sealed", validate) == first
    assert first["outcome"] == "all_passed"
    assert len(validate.seen) == 1
    now[0] = 300.0
    cache.payload(b"%PDF-1.7 sealed", validate)
    now[0] = -1.0  # a clock moved back (an injected test clock) is not trusted either
    cache.payload(b"%PDF-1.7 sealed", validate)
    assert len(validate.seen) == 3


def test_altered_bytes_are_validated_afresh_and_the_oldest_entry_goes_first() -> None:
    cache, validate = ReportCache(max_entries=2, clock=lambda: 0.0), Validator()
    assert cache.payload(b"%PDF-1.7 sealed", validate)["outcome"] == "all_passed"
    assert cache.payload(b"tampered", validate)["outcome"] == "not_a_pdf"
    cache.payload(b"%PDF-1.7 third", validate)  # evicts the least recently used: "sealed"
    cache.payload(b"tampered", validate)
    cache.payload(b"%PDF-1.7 sealed", validate)
    assert validate.seen == [b"%PDF-1.7 sealed", b"tampered", b"%PDF-1.7 third",
                             b"%PDF-1.7 sealed"]
