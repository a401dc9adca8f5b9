"""What ``verify_pdf`` reports: one entry per signature and document timestamp, in the
vocabulary of ETSI EN 319 102-1 (indications, sub-indications) and EN 319 142-1 (PAdES
levels), with the Vietnamese labels a clerk or a citizen reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "INDICATION_LABELS",
    "SUBINDICATION_LABELS",
    "ChainStatus",
    "DocumentTimestampReport",
    "Indication",
    "ModificationLevel",
    "PadesLevel",
    "SignatureReport",
    "VerificationOutcome",
    "VerificationReport",
]


class Indication(StrEnum):
    """ETSI EN 319 102-1 §5.1.3 main indications."""

    TOTAL_PASSED = "TOTAL-PASSED"
    TOTAL_FAILED = "TOTAL-FAILED"
    INDETERMINATE = "INDETERMINATE"


INDICATION_LABELS: dict[Indication, str] = {
    Indication.TOTAL_PASSED: "Hợp lệ",
    Indication.TOTAL_FAILED: "Không hợp lệ",
    Indication.INDETERMINATE: "Chưa xác định được tính hợp lệ",
}

# ETSI EN 319 102-1 Table 5 and 6 sub-indications, as pyHanko names them.
SUBINDICATION_LABELS: dict[str, str] = {
    "FORMAT_FAILURE": "Chữ ký không đúng định dạng",
    "HASH_FAILURE": "Nội dung văn bản đã bị thay đổi sau khi ký",
    "SIG_CRYPTO_FAILURE": "Giá trị chữ ký số không khớp với chứng thư số",
    "REVOKED": "Chứng thư số đã bị thu hồi trước thời điểm ký",
    "NOT_YET_VALID": "Chứng thư số chưa có hiệu lực tại thời điểm ký",
    "SIG_CONSTRAINTS_FAILURE": "Văn bản đã bị sửa đổi theo cách không được phép sau khi ký",
    "CHAIN_CONSTRAINTS_FAILURE": "Chuỗi chứng thư số vi phạm ràng buộc",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "Không kiểm tra được chuỗi chứng thư số",
    "CRYPTO_CONSTRAINTS_FAILURE": "Thuật toán mật mã không còn được chấp nhận",
    "EXPIRED": "Chứng thư số đã hết hạn",
    "POLICY_PROCESSING_ERROR": "Lỗi xử lý chính sách chữ ký",
    "SIGNATURE_POLICY_NOT_AVAILABLE": "Không có chính sách chữ ký",
    "TIMESTAMP_ORDER_FAILURE": "Thứ tự dấu thời gian không hợp lệ",
    "NO_SIGNING_CERTIFICATE_FOUND": "Không tìm thấy chứng thư số của người ký",
    "NO_CERTIFICATE_CHAIN_FOUND": "Không tìm thấy chuỗi chứng thư số tới gốc tin cậy",
    "REVOKED_NO_POE": "Chứng thư số đã bị thu hồi, không có bằng chứng chữ ký có trước đó",
    "REVOKED_CA_NO_POE": "Chứng thư số của CA đã bị thu hồi, không có bằng chứng thời điểm",
    "OUT_OF_BOUNDS_NO_POE": "Chứng thư số đã hết hạn hoặc bị thu hồi, không có bằng chứng "
                            "thời điểm ký trong thời hạn",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "Thông tin thu hồi không có bằng chứng thời điểm",
    "OUT_OF_BOUNDS_NOT_REVOKED": "Chứng thư số đã hết hạn nhưng chưa bị thu hồi",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "Thuật toán mật mã đã hết hiệu lực, không có bằng "
                                         "chứng thời điểm",
    "NO_POE": "Không có bằng chứng về thời điểm tồn tại của chữ ký",
    "TRY_LATER": "Chưa có thông tin thu hồi đủ mới, hãy kiểm tra lại sau",
    "SIGNED_DATA_NOT_FOUND": "Không tìm thấy dữ liệu đã ký",
    "GENERIC": "Lỗi không xác định khi kiểm tra chữ ký",
}


class ChainStatus(StrEnum):
    TRUSTED = "trusted"  # a path to a configured trust anchor, revocation checked
    UNTRUSTED = "untrusted"  # no path to a trust anchor
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # path found but revocation status or validity not established


class ModificationLevel(StrEnum):
    """pyHanko's difference analysis of what was added after a signature."""

    NONE = "NONE"
    LTA_UPDATES = "LTA_UPDATES"  # DSS data and document timestamps only
    FORM_FILLING = "FORM_FILLING"  # incl. later signatures in new fields
    ANNOTATIONS = "ANNOTATIONS"
    OTHER = "OTHER"


class PadesLevel(StrEnum):
    """ETSI EN 319 142-1 §6.3 baseline levels, as found in the document."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True, kw_only=True)
class SignatureReport:
    field_name: str
    signer: str  # subject common name
    organisation: str  # subject O
    organisation_signature: bool  # made with an organisation certificate (a seal)
    chain: ChainStatus
    claimed_time: datetime | None  # /M in the signature dictionary
    timestamp_time: datetime | None  # from the RFC 3161 signature timestamp
    timestamp_valid: bool
    intact: bool  # the digest over the signed byte ranges matches
    signature_valid: bool  # the cryptographic signature verifies
    modification: ModificationLevel | None
    modification_acceptable: bool
    level: PadesLevel | None  # None: not a PAdES signature
    indication: Indication
    subindication: str | None
    detail: str | None  # pyHanko's reason, English, for the log

    @property
    def label(self) -> str:
        """Vietnamese verdict: the indication, and why when not passed."""
        text = INDICATION_LABELS[self.indication]
        if self.subindication:
            text += f": {SUBINDICATION_LABELS.get(self.subindication, self.subindication)}"
        return text


@dataclass(frozen=True, kw_only=True)
class DocumentTimestampReport:
    field_name: str
    time: datetime | None
    authority: str  # TSA common name
    intact: bool
    valid: bool  # intact, signature verifies, TSA trusted now
    indication: Indication
    subindication: str | None

    @property
    def label(self) -> str:
        text = INDICATION_LABELS[self.indication]
        if self.subindication:
            text += f": {SUBINDICATION_LABELS.get(self.subindication, self.subindication)}"
        return text


class VerificationOutcome(StrEnum):
    ALL_PASSED = "all_passed"
    PROBLEMS = "problems"  # at least one signature not TOTAL-PASSED
    NO_SIGNATURES = "no_signatures"
    NOT_A_PDF = "not_a_pdf"


_OUTCOME_MESSAGES = {
    VerificationOutcome.ALL_PASSED: "Tất cả chữ ký số trên văn bản đều hợp lệ.",
    VerificationOutcome.PROBLEMS: "Có chữ ký số không hợp lệ hoặc chưa xác định được.",
    VerificationOutcome.NO_SIGNATURES: "Văn bản không có chữ ký số.",
    VerificationOutcome.NOT_A_PDF: "Tệp không phải là văn bản PDF đọc được.",
}


@dataclass(frozen=True, kw_only=True)
class VerificationReport:
    outcome: VerificationOutcome
    validated_at: datetime
    signatures: tuple[SignatureReport, ...] = ()
    timestamps: tuple[DocumentTimestampReport, ...] = ()

    @property
    def message(self) -> str:
        return _OUTCOME_MESSAGES[self.outcome]

    def signature(self, field_name: str) -> SignatureReport:
        return next(s for s in self.signatures if s.field_name == field_name)
