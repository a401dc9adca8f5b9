"""One PAdES signature through pyHanko's staged signing API, with an injectable signing time.

``PdfSigner.sign_pdf`` stamps the claimed signing time (the signature dictionary's /M,
ETSI EN 319 142-1 §5.3: PAdES carries no CMS signing-time attribute) from the wall clock;
the staged API (``init_signing_session`` ... ``post_signature_processing``, pyHanko's
"interrupted signing") lets the caller set it, and share one validation context between
the checks before signing and the validation data embedded for B-LT.

Validation data go into the DSS of the signature's own revision (include_vri off,
``TOGETHER_WITH_SIGNATURE``): one incremental update per signature instead of two, and a
validator that reads only the signed revision still finds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext

from signing.credentials import Credential
from signing.errors import DocumentRefused

__all__ = ["Box", "SignatureJob", "open_incremental", "run_signature"]

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points, origin bottom left

_SLACK_HEX = 2 * 1024
_DSS = DSSContentSettings(
    include_vri=False, placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE
)


def open_incremental(pdf: bytes) -> IncrementalPdfFileWriter:
    """A writer appending to ``pdf``; anything that is not a readable PDF is refused."""
    if b"%PDF-" not in pdf[:1024]:
        raise DocumentRefused("not_a_pdf", "Tệp không phải là văn bản PDF.")
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    except (PdfReadError, ValueError, KeyError, IndexError) as exc:
        raise DocumentRefused("pdf_damaged", "Tệp PDF bị hỏng, không đọc được.") from exc
    if writer.prev.encrypted:
        raise DocumentRefused("pdf_encrypted", "Tệp PDF đã mã hóa: cần bản không mã hóa để ký.")
    return writer


@dataclass(frozen=True, kw_only=True)
class SignatureJob:
    field_name: str
    box: Box | None  # None: invisible
    page: int
    style: BaseStampStyle | None
    text_params: dict[str, Any]
    lock_own_field: bool  # FieldMDP Include [own field] (ISO 32000-1 §12.8.2.4)
    signing_time: datetime
    key_usage: frozenset[str]
    reason: str | None = None
    location: str | None = None


def _field_spec(job: SignatureJob) -> SigFieldSpec:
    box = None
    if job.box is not None:
        x1, y1, x2, y2 = job.box
        box = (round(x1), round(y1), round(x2), round(y2))
    lock = FieldMDPSpec(FieldMDPAction.INCLUDE, [job.field_name]) if job.lock_own_field else None
    return SigFieldSpec(
        sig_field_name=job.field_name, on_page=job.page, box=box, field_mdp_spec=lock
    )


async def run_signature(
    pdf: bytes,
    credential: Credential,
    job: SignatureJob,
    *,
    timestamper: TimeStamper,
    context: ValidationContext,
) -> bytes:
    """Sign ``pdf`` as ``job`` says: PAdES (ETSI.CAdES.detached), RFC 3161 signature
    timestamp, validation data embedded (B-LT)."""
    writer = open_incremental(pdf)
    meta = PdfSignatureMetadata(
        field_name=job.field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=context,
        signer_key_usage=set(job.key_usage),
        dss_settings=_DSS,
        reason=job.reason,
        location=job.location,
    )
    signer = PdfSigner(
        meta,
        credential.signer,
        timestamper=timestamper,
        stamp_style=job.style,
        new_field_spec=_field_spec(job),
    )
    session = signer.init_signing_session(writer)
    session.system_time = job.signing_time
    presign = await session.perform_presign_validation(writer)
    # pyHanko's default margin is +50 %; /Contents is parsed by every validator, so reserve
    # the tight estimate plus room for a TSA token a few bytes longer than the dummy one.
    reserved = await session.estimate_signature_container_size(presign, tight=True)
    reserved += _SLACK_HEX
    tbs = session.prepare_tbs_document(
        validation_info=presign, bytes_reserved=reserved, appearance_text_params=job.text_params
    )
    output = BytesIO()
    digest, _ = tbs.digest_tbs_document(output=output)
    post = await tbs.perform_signature(
        document_digest=digest.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=job.signing_time),
    )
    await post.post_signature_processing(output)
    return output.getvalue()
