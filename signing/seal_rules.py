"""When the organisation's seal may be applied [Decree 30/2020 Art. 33; DOMAIN "E-signatures"].

The organisation signs second, "only to documents already signed by the official": the PDF
must carry at least one personal signature that validates now (intact, trusted chain, its
timestamp valid, nothing unacceptable changed after it), and no seal yet. A seal is a
signature made with an organisation certificate (``checks.is_organisation_certificate``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints

from signing._asn1 import certificate_from_asn1
from signing._session import open_incremental
from signing.checks import is_organisation_certificate
from signing.trust import ValidationSetup

__all__ = ["ALREADY_SEALED", "NOT_SIGNED", "SealPrecondition", "seal_precondition"]

NOT_SIGNED = "Văn bản chưa có chữ ký số của người có thẩm quyền: không được đóng dấu."
ALREADY_SEALED = "Văn bản đã được đóng dấu của cơ quan, tổ chức: không đóng dấu lần nữa."
_SIGNER_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)


@dataclass(frozen=True, kw_only=True)
class SealPrecondition:
    """Why a seal may not be applied."""

    code: str
    message: str


async def _valid_personal_signature(reader: PdfFileReader, validation: ValidationSetup) -> bool:
    for signature in reader.embedded_regular_signatures:
        if is_organisation_certificate(certificate_from_asn1(signature.signer_cert)):
            continue
        context = validation.validation_context()
        status = await async_validate_pdf_signature(
            signature,
            signer_validation_context=context,
            ts_validation_context=context,
            key_usage_settings=_SIGNER_USAGE,
        )
        if status.bottom_line:
            return True
    return False


async def seal_precondition(pdf: bytes, validation: ValidationSetup) -> SealPrecondition | None:
    """``None`` when the seal may be applied, else the reason it may not."""
    reader = open_incremental(pdf).prev
    for signature in reader.embedded_regular_signatures:
        if is_organisation_certificate(certificate_from_asn1(signature.signer_cert)):
            return SealPrecondition(code="already_sealed", message=ALREADY_SEALED)
    if not await _valid_personal_signature(reader, validation):
        return SealPrecondition(code="not_signed_by_official", message=NOT_SIGNED)
    return None
