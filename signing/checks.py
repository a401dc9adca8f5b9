"""Checks on a signing certificate before anything is signed [Decree 30/2020 Art. 32].

"Signing software must check certificate validity before signing" (DOMAIN "E-signatures"):
valid at the moment of signing, chained to a configured trust anchor, not revoked (CRL or
OCSP; what happens when neither answers is the setup's ``RevocationFailure``), and a key
usage that allows signing (RFC 5280 §4.2.1.3: digitalSignature or nonRepudiation). Every
problem found is reported, not only the first, each with a Vietnamese message.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)

from records.calendar import VN_TZ
from signing._asn1 import certificate_to_asn1
from signing.trust import RevocationFailure, ValidationSetup

__all__ = [
    "CertificateCheck",
    "CertificateProblem",
    "ProblemCode",
    "Purpose",
    "check_signing_certificate",
    "is_organisation_certificate",
]

Purpose = Literal["personal", "organisation"]
_UID = x509.ObjectIdentifier("0.9.2342.19200300.100.1.1")


class ProblemCode(StrEnum):
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    UNTRUSTED = "untrusted"
    CHAIN_INVALID = "chain_invalid"
    REVOKED = "revoked"
    REVOCATION_UNKNOWN = "revocation_unknown"
    KEY_USAGE = "key_usage"
    WRONG_PURPOSE = "wrong_purpose"


@dataclass(frozen=True, kw_only=True)
class CertificateProblem:
    code: ProblemCode
    message: str
    blocking: bool = True  # False: a warning (revocation unknown under soft-fail)


@dataclass(frozen=True, kw_only=True)
class CertificateCheck:
    """``ok`` when no blocking problem was found at ``checked_at``."""

    ok: bool
    problems: tuple[CertificateProblem, ...]
    subject: str
    serial: int
    checked_at: datetime


def _date(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y")


def _subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return unicodedata.normalize("NFC", str(values[0].value)) if values else ""


def is_organisation_certificate(cert: x509.Certificate) -> bool:
    """An agency's certificate rather than a person's.

    Vietnamese CAs put the tax code in the subject UID ("MST:...") of organisation
    certificates and the identity number ("CCCD:", "CMND:", "HC:") of personal ones; without
    a UID, an organisation certificate is one whose common name is its organisation name.
    """
    uid = _subject(cert, _UID).upper()
    if uid.startswith("MST"):
        return True
    if uid.startswith(("CCCD", "CMND", "HC", "CMT")):
        return False
    organisation = _subject(cert, NameOID.ORGANIZATION_NAME)
    return bool(organisation) and organisation == _subject(cert, NameOID.COMMON_NAME)


def _validity(cert: x509.Certificate, at: datetime) -> list[CertificateProblem]:
    if at < cert.not_valid_before_utc:
        return [CertificateProblem(
            code=ProblemCode.NOT_YET_VALID,
            message=f"Chứng thư số chưa có hiệu lực (có hiệu lực từ ngày "
                    f"{_date(cert.not_valid_before_utc)}).",
        )]
    if at > cert.not_valid_after_utc:
        return [CertificateProblem(
            code=ProblemCode.EXPIRED,
            message=f"Chứng thư số đã hết hạn ngày {_date(cert.not_valid_after_utc)}.",
        )]
    return []


def _key_usage(cert: x509.Certificate) -> list[CertificateProblem]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return []  # RFC 5280 §4.2.1.3: no extension, no restriction
    if usage.digital_signature or usage.content_commitment:
        return []
    return [CertificateProblem(
        code=ProblemCode.KEY_USAGE,
        message="Chứng thư số không được phép dùng để ký số "
                "(thiếu mục đích digitalSignature hoặc nonRepudiation).",
    )]


def _purpose(cert: x509.Certificate, purpose: Purpose) -> list[CertificateProblem]:
    organisation = is_organisation_certificate(cert)
    if purpose == "personal" and organisation:
        message = "Chứng thư số của cơ quan, tổ chức không dùng để ký thay người có thẩm quyền."
    elif purpose == "organisation" and not organisation:
        message = "Chứng thư số cá nhân không dùng để đóng dấu của cơ quan, tổ chức."
    else:
        return []
    return [CertificateProblem(code=ProblemCode.WRONG_PURPOSE, message=message)]


async def _chain(
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    context: ValidationContext,
    revocation: RevocationFailure,
) -> list[CertificateProblem]:
    validator = CertificateValidator(
        certificate_to_asn1(cert),
        intermediate_certs=[certificate_to_asn1(other) for other in chain],
        validation_context=context,
    )
    try:
        await validator.async_validate_path()
    except RevokedError as exc:
        return [CertificateProblem(
            code=ProblemCode.REVOKED,
            message=f"Chứng thư số đã bị thu hồi ngày {_date(exc.revocation_dt)}.",
        )]
    except InsufficientRevinfoError:
        return [CertificateProblem(
            code=ProblemCode.REVOCATION_UNKNOWN,
            message="Không kiểm tra được tình trạng thu hồi của chứng thư số "
                    "(không lấy được CRL hoặc phản hồi OCSP).",
        )]
    except PathBuildingError:
        return [CertificateProblem(
            code=ProblemCode.UNTRUSTED,
            message="Chứng thư số không do tổ chức cung cấp dịch vụ chứng thực "
                    "chữ ký số được tin cậy cấp.",
        )]
    except PathValidationError as exc:
        return [CertificateProblem(
            code=ProblemCode.CHAIN_INVALID,
            message=f"Chuỗi chứng thư số không hợp lệ: {exc}",
        )]
    if revocation is RevocationFailure.SOFT and context.soft_fail_exceptions:
        return [CertificateProblem(
            code=ProblemCode.REVOCATION_UNKNOWN, blocking=False,
            message="Chưa kiểm tra được tình trạng thu hồi của chứng thư số; "
                    "vẫn ký theo cấu hình (soft-fail).",
        )]
    return []


async def check_certificate_async(
    cert: x509.Certificate,
    *,
    chain: Sequence[x509.Certificate],
    validation: ValidationSetup,
    context: ValidationContext,
    at: datetime,
    purpose: Purpose,
) -> CertificateCheck:
    """The check, with the caller's validation context (pyHanko then reuses what it
    fetched when it embeds the validation data)."""
    problems = _validity(cert, at) + _key_usage(cert) + _purpose(cert, purpose)
    if not any(p.code is ProblemCode.EXPIRED or p.code is ProblemCode.NOT_YET_VALID
               for p in problems):
        problems += await _chain(cert, chain, context, validation.revocation)
    return CertificateCheck(
        ok=not any(problem.blocking for problem in problems),
        problems=tuple(problems),
        subject=_subject(cert, NameOID.COMMON_NAME),
        serial=cert.serial_number,
        checked_at=at,
    )


def check_signing_certificate(
    cert: x509.Certificate,
    *,
    validation: ValidationSetup,
    at: datetime,
    purpose: Purpose,
    chain: Sequence[x509.Certificate] = (),
) -> CertificateCheck:
    """Check ``cert`` for signing at ``at``; ``chain`` adds intermediates it came with."""
    context = validation.validation_context(moment=at)
    return asyncio.run(check_certificate_async(
        cert, chain=chain, validation=validation, context=context, at=at, purpose=purpose
    ))
