"""The signing sequence for a result [Decree 30/2020 Art. 32-33, Appendix I; DOMAIN].

1. ``sign_personal``: the competent official signs first, with a personal certificate.
   Approval signature whose field locks itself (FieldMDP Include [own field]); not a DocMDP
   certification, which would have to be the document's first and only one and would then
   forbid nothing useful to the seal (ISO 32000-1 §12.8.2.2).
2. ``apply_seal``: the organisation's signature, an approval signature in an incremental
   update, only on a document already carrying a valid personal signature and no seal.
3. ``sign_attachment_seal``: the organisation's signature on an attachment or a copy.
4. ``signing.archive.extend_archive``: validation data and a document timestamp
   (B-LT -> B-LTA), repeated before the last timestamp's certificate expires.

Each signature is PAdES baseline (ETSI EN 319 142-1): subfilter ETSI.CAdES.detached, an
RFC 3161 signature timestamp (B-T) and the certificates and CRL/OCSP answers used to check
the signer in the DSS (B-LT). The certificate is checked before signing; a refusal says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from pyhanko.sign.timestamps import TimeStamper

from signing._session import Box, SignatureJob, open_incremental, run_signature
from signing.appearance import (
    AttachmentAppearance,
    AttachmentStyle,
    PersonalAppearance,
    PersonalStyle,
    SealAppearance,
    SealStyle,
    format_signing_time,
)
from signing.checks import Purpose, check_certificate_async
from signing.credentials import Credential
from signing.errors import CertificateRefused, SealRefused
from signing.seal_rules import seal_precondition
from signing.trust import ValidationSetup

__all__ = [
    "apply_seal",
    "seal_box_over",
    "sign_attachment_seal",
    "sign_personal",
]

_ATTACHMENT_SIZE = (210.0, 42.0)  # points: two lines of 9 pt text
_ATTACHMENT_MARGIN = 24.0


def _key_usage(cert: x509.Certificate) -> frozenset[str]:
    """The usage pyHanko's pre-sign validation must demand: one the certificate has."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset({"non_repudiation"} if usage.content_commitment else {"digital_signature"})


async def _checked_signature(
    pdf: bytes,
    credential: Credential,
    job: SignatureJob,
    *,
    purpose: Purpose,
    timestamper: TimeStamper,
    validation: ValidationSetup,
) -> bytes:
    context = validation.validation_context(moment=job.signing_time)
    check = await check_certificate_async(
        credential.certificate, chain=credential.chain, validation=validation,
        context=context, at=job.signing_time, purpose=purpose,
    )
    if not check.ok:
        raise CertificateRefused(check)
    return await run_signature(pdf, credential, job, timestamper=timestamper, context=context)


def _signing_time(signing_time: datetime | None, validation: ValidationSetup) -> datetime:
    if signing_time is None:
        return validation.moment or datetime.now(UTC)
    if signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    return signing_time


def _run(coro: Coroutine[Any, Any, bytes]) -> bytes:
    return asyncio.run(coro)


def sign_personal(
    pdf: bytes,
    credential: Credential,
    *,
    field_name: str,
    box: Box,
    page: int,
    appearance: PersonalAppearance,
    timestamper: TimeStamper,
    validation: ValidationSetup,
    signing_time: datetime | None = None,
) -> bytes:
    """The official's signature: visible, self-locking, timestamped, B-LT."""
    moment = _signing_time(signing_time, validation)
    job = SignatureJob(
        field_name=field_name, box=box, page=page,
        style=PersonalStyle(appearance=appearance),
        text_params={
            "signer": appearance.signer_name or credential.common_name,
            "signed_at": format_signing_time(moment),
        },
        lock_own_field=True, signing_time=moment,
        key_usage=_key_usage(credential.certificate),
    )
    return _run(_checked_signature(pdf, credential, job, purpose="personal",
                                   timestamper=timestamper, validation=validation))


def apply_seal(
    pdf: bytes,
    credential: Credential,
    *,
    field_name: str,
    box: Box,
    page: int,
    appearance: SealAppearance,
    timestamper: TimeStamper,
    validation: ValidationSetup,
    signing_time: datetime | None = None,
) -> bytes:
    """The organisation's seal over a validly signed result; refused otherwise."""
    moment = _signing_time(signing_time, validation)

    async def _seal() -> bytes:
        refusal = await seal_precondition(pdf, validation.at(moment))
        if refusal is not None:
            raise SealRefused(refusal.code, refusal.message)
        job = SignatureJob(
            field_name=field_name, box=box, page=page, style=SealStyle(appearance=appearance),
            text_params={"signer": credential.organisation or credential.common_name,
                         "signed_at": format_signing_time(moment)},
            lock_own_field=False, signing_time=moment,
            key_usage=_key_usage(credential.certificate),
        )
        return await _checked_signature(pdf, credential, job, purpose="organisation",
                                        timestamper=timestamper, validation=validation)

    return _run(_seal())


def sign_attachment_seal(
    pdf: bytes,
    credential: Credential,
    *,
    field_name: str,
    appearance: AttachmentAppearance,
    timestamper: TimeStamper,
    validation: ValidationSetup,
    signing_time: datetime | None = None,
) -> bytes:
    """The organisation's signature on an attachment or copy: top right of page 1, text
    only (organisation name and time), no image [Decree 30/2020 Appendix I]."""
    moment = _signing_time(signing_time, validation)
    _, _, right, top = _page_box(pdf, 0)
    width, height = _ATTACHMENT_SIZE
    right, top = right - _ATTACHMENT_MARGIN, top - _ATTACHMENT_MARGIN
    job = SignatureJob(
        field_name=field_name, box=(right - width, top - height, right, top), page=0,
        style=AttachmentStyle(appearance=appearance),
        text_params={"signer": appearance.organisation_name or credential.organisation
                     or credential.common_name, "signed_at": format_signing_time(moment)},
        lock_own_field=False, signing_time=moment, key_usage=_key_usage(credential.certificate),
    )
    return _run(_checked_signature(pdf, credential, job, purpose="organisation",
                                   timestamper=timestamper, validation=validation))


def _page_box(pdf: bytes, index: int) -> Box:
    """The visible area of a page: /CropBox, else /MediaBox, inherited through the page
    tree (ISO 32000-1 §7.7.3.4)."""
    reader = open_incremental(pdf).prev
    node = reader.find_page_for_modification(index)[0].get_object()  # type: ignore[no-untyped-call]
    while node is not None:
        for key in ("/CropBox", "/MediaBox"):
            if key in node:
                x1, y1, x2, y2 = (float(v) for v in node[key])
                return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return (0.0, 0.0, 595.0, 842.0)  # A4, when a broken file names no box at all


def seal_box_over(personal_box: Box, *, share: float = 1 / 3) -> Box:
    """A square for the seal covering about the left third of the personal signature
    [DOMAIN "E-signatures": the seal covers about the left third of the signature]."""
    x1, y1, x2, y2 = personal_box
    width, height = x2 - x1, y2 - y1
    side = min(height * 0.8, width * share * 1.8)
    left = x1 + width * share - side * 0.75
    bottom = y1 + (height - side) / 2
    return (left, bottom, left + side, bottom + side)
