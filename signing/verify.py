"""Verification of every signature and document timestamp in a PDF.

Each signature goes through pyHanko's AdES validation for long-term signatures
(``ades_lta_validation``, ETSI EN 319 102-1 §5.6.3): the validation at the current (or
configured) time, then past-signature validation with the proof of existence that the
signature timestamp and the document timestamps give. Its result is mapped to the ETSI main
indication and sub-indication. The PAdES level is read from what the document contains
(ETSI EN 319 142-1 §6.3): B-B a PAdES signature, B-T with a signature timestamp, B-LT with
the signer's revocation data in the DSS, B-LTA with a document timestamp after it.

An unreadable file or a PDF without signatures is an outcome, not an exception.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from io import BytesIO
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed, AdESStatus, AdESSubIndic
from pyhanko.sign.general import SignedDataCerts, extract_certificate_info
from pyhanko.sign.validation import EmbeddedPdfSignature, generic_cms
from pyhanko.sign.validation.ades import (
    ades_lta_validation,
    ades_timestamp_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    bootstrap_validation_data_handlers,
)
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from signing._asn1 import certificate_from_asn1
from signing._dss import DssContents
from signing._poe import held_objects_poes
from signing.checks import is_organisation_certificate
from signing.report import (
    ChainStatus,
    DocumentTimestampReport,
    Indication,
    ModificationLevel,
    PadesLevel,
    SignatureReport,
    VerificationOutcome,
    VerificationReport,
)
from signing.trust import ValidationSetup

__all__ = ["verify_pdf"]

_LOG = logging.getLogger(__name__)
_INDICATIONS = {
    AdESStatus.PASSED: Indication.TOTAL_PASSED,
    AdESStatus.FAILED: Indication.TOTAL_FAILED,
    AdESStatus.INDETERMINATE: Indication.INDETERMINATE,
}
_CHAIN_BY_SUBINDICATION = {
    "REVOKED": ChainStatus.REVOKED,
    "REVOKED_NO_POE": ChainStatus.REVOKED,
    "REVOKED_CA_NO_POE": ChainStatus.REVOKED,
    "EXPIRED": ChainStatus.EXPIRED,
    "OUT_OF_BOUNDS_NO_POE": ChainStatus.EXPIRED,
    "OUT_OF_BOUNDS_NOT_REVOKED": ChainStatus.EXPIRED,
    "NO_CERTIFICATE_CHAIN_FOUND": ChainStatus.UNTRUSTED,
}


def _name(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _indication(subindication: AdESSubIndic) -> tuple[Indication, str | None]:
    indication = _INDICATIONS[subindication.status]
    passed = indication is Indication.TOTAL_PASSED
    return indication, None if passed else subindication.standard_name


def _signature_timestamps(signature: EmbeddedPdfSignature) -> list[Any]:
    return list(generic_cms.extract_tst_data_iter(signature.signer_info, signed=False))


def _tst_time(tst_signed_data: Any) -> Any:
    return tst_signed_data["encap_content_info"]["content"].parsed["gen_time"].native


def _level(signature: EmbeddedPdfSignature, cert: x509.Certificate, dss: DssContents,
           doc_ts_revisions: list[int]) -> PadesLevel | None:
    if signature.sig_object.get("/SubFilter") != "/ETSI.CAdES.detached":
        return None
    if not _signature_timestamps(signature):
        return PadesLevel.B_B
    if not dss.covers(cert):
        return PadesLevel.B_T
    if any(revision > signature.signed_revision for revision in doc_ts_revisions):
        return PadesLevel.B_LTA
    return PadesLevel.B_LT


async def _validate(signature: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec,
                    timing: ValidationTimingInfo, dss: DssContents) -> Any:
    """ETSI EN 319 102-1 §5.6.3.4: the validation for signatures with time comes first; when
    it passes, the long-term steps (past validation with the proofs of existence of the
    timestamp chain) cannot change the result and are skipped, which halves the cost.
    Anything else goes through pyHanko's full ``ades_lta_validation``."""
    signature.compute_integrity_info(diff_policy=spec.diff_policy)  # type: ignore[no-untyped-call]
    base = spec.signature_validation_spec
    local = base.local_knowledge
    extra = dss.knowledge()
    with_dss = replace(base, local_knowledge=replace(
        local,
        known_crls=local.known_crls + extra.known_crls,
        known_ocsps=local.known_ocsps + extra.known_ocsps,
        known_certs=local.known_certs + extra.known_certs,
    ))
    quick = await ades_with_time_validation(
        signature.signed_data, with_dss, timing_info=timing,
        validation_data_handlers=bootstrap_validation_data_handlers(with_dss, timing_info=timing),
        raw_digest=signature.compute_digest(),
        extra_status_kwargs=signature.summarise_integrity_info(),
        status_cls=PdfSignatureStatus,
    )
    if quick.ades_subindic is AdESPassed.OK:
        return quick
    return await ades_lta_validation(signature, spec, timing_info=timing)


async def _signature(signature: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec,
                     timing: ValidationTimingInfo, dss: DssContents,
                     doc_ts_revisions: list[int]) -> SignatureReport:
    result = await _validate(signature, spec, timing, dss)
    status = result.api_status
    indication, sub = _indication(result.ades_subindic)
    cert = certificate_from_asn1(signature.signer_cert)
    if sub in _CHAIN_BY_SUBINDICATION:
        chain = _CHAIN_BY_SUBINDICATION[sub]
    elif indication is Indication.TOTAL_PASSED or (status is not None and status.trusted):
        chain = ChainStatus.TRUSTED
    else:
        chain = ChainStatus.UNKNOWN
    ts_status = status.timestamp_validity if status is not None else None
    timestamps = _signature_timestamps(signature)
    modification = getattr(status, "modification_level", None)
    return SignatureReport(
        field_name=signature.field_name,
        signer=_name(cert, NameOID.COMMON_NAME),
        organisation=_name(cert, NameOID.ORGANIZATION_NAME),
        organisation_signature=is_organisation_certificate(cert),
        chain=chain,
        claimed_time=signature.self_reported_timestamp,
        timestamp_time=_tst_time(timestamps[0]) if timestamps else None,
        timestamp_valid=bool(
            ts_status and ts_status.valid and ts_status.intact and ts_status.trusted
        ),
        intact=bool(status and status.intact),
        signature_valid=bool(status and status.valid),
        modification=ModificationLevel(modification.name) if modification is not None else None,
        modification_acceptable=bool(status is not None and status.docmdp_ok),
        level=_level(signature, cert, dss, doc_ts_revisions),
        indication=indication,
        subindication=sub,
        detail=None if indication is Indication.TOTAL_PASSED else result.failure_msg,
    )


async def _document_timestamp(signature: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec,
                              timing: ValidationTimingInfo) -> DocumentTimestampReport:
    result = await ades_timestamp_validation(
        signature.signed_data, spec.signature_validation_spec,
        expected_tst_imprint=signature.compute_digest, timing_info=timing,
    )
    status = result.api_status
    indication, sub = _indication(result.ades_subindic)
    info: SignedDataCerts = extract_certificate_info(signature.signed_data)
    return DocumentTimestampReport(
        field_name=signature.field_name,
        time=_tst_time(signature.signed_data),
        authority=_name(certificate_from_asn1(info.signer_cert), NameOID.COMMON_NAME),
        intact=bool(status and status.intact),
        valid=bool(status and status.intact and status.valid and status.trusted),
        indication=indication,
        subindication=sub,
    )


async def _verify(pdf: bytes, setup: ValidationSetup) -> VerificationReport:
    timing = setup.timing_info()
    moment = timing.validation_time
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError) as exc:
        _LOG.info("not a readable PDF: %s", exc)
        return VerificationReport(outcome=VerificationOutcome.NOT_A_PDF, validated_at=moment)
    if not embedded:
        return VerificationReport(outcome=VerificationOutcome.NO_SIGNATURES, validated_at=moment)
    dss = DssContents.read(reader)
    spec = setup.pdf_validation_spec(held_objects_poes(dss, embedded, setup, moment))
    doc_ts = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    revisions = [s.signed_revision for s in doc_ts]
    signatures = [await _signature(s, spec, timing, dss, revisions)
                  for s in embedded if s.sig_object_type != "/DocTimeStamp"]
    timestamps = [await _document_timestamp(s, spec, timing) for s in doc_ts]
    passed = all(s.indication is Indication.TOTAL_PASSED for s in signatures)
    outcome = VerificationOutcome.ALL_PASSED if signatures and passed else (
        VerificationOutcome.PROBLEMS if signatures else VerificationOutcome.NO_SIGNATURES
    )
    return VerificationReport(outcome=outcome, validated_at=moment,
                              signatures=tuple(signatures), timestamps=tuple(timestamps))


def verify_pdf(pdf: bytes, *, validation: ValidationSetup) -> VerificationReport:
    """Verify every signature in ``pdf`` at ``validation.moment`` (default: now)."""
    if b"%PDF-" not in pdf[:1024]:
        return VerificationReport(
            outcome=VerificationOutcome.NOT_A_PDF, validated_at=validation.now()
        )
    return asyncio.run(_verify(pdf, validation))
