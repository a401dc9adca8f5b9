"""Archive extension: B-LT -> B-LTA, and its renewals (ETSI EN 319 142-1 §5.4; DOMAIN
"archives are extended to B-LTA").

One incremental update holds the validation data and a document timestamp over it. The first
extension adds data for every signature not yet under an archive timestamp, gathered now,
after signing: ETSI EN 319 102-1's past validation slides back to the issue time of the
revocation data, so data issued after the signature is what proves it later. A renewal,
due before the last timestamp's certificate expires, adds data for that timestamp only.

Give the validation an OCSP answer for each signer when extending: pyHanko 0.38's past
validation of an expired signer found an embedded OCSP answer but not a CRL of its CA
(measured: B-LTA validated "in 2040" TOTAL-PASSED with OCSP, REVOCATION_OUT_OF_BOUNDS_NO_POE
with CRLs only). Vietnamese CAs answer OCSP; the demo PKI can give the answers offline.

Only revocation data about the certificates on the validated paths is embedded. A CRL
issued after a certificate expired says nothing about it, yet pyHanko 0.38's time slide
takes the most recent CRL of the issuer, then finds the certificate expired at that time
(``pyhanko_certvalidator`` leaves ``expected_post_expiry_revinfo_time`` unimplemented).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.sign.validation.dss import collect_validation_info
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.path import ValidationPath

from signing._session import open_incremental
from signing.errors import DocumentRefused
from signing.trust import ValidationSetup

__all__ = ["extend_archive"]


def _relevant_revocation_data(
    paths: list[ValidationPath], context: ValidationContext
) -> tuple[list[Any], list[Any]]:
    certs = [cert for path in paths for cert in path.iter_certs(include_root=False)]
    issuers = {cert.issuer.dump() for cert in certs}
    serials = {cert.serial_number for cert in certs}
    crls = [crl for crl in context.crls if crl["tbs_cert_list"]["issuer"].dump() in issuers]
    ocsps = [
        response for response in context.ocsps
        if any(single["cert_id"]["serial_number"].native in serials
               for single in response.basic_ocsp_response["tbs_response_data"]["responses"])
    ]
    return crls, ocsps


async def _extend(pdf: bytes, timestamper: TimeStamper, context: ValidationContext) -> bytes:
    writer = open_incremental(pdf)
    reader: PdfFileReader = writer.prev
    timestamps = reader.embedded_timestamp_signatures
    covered_up_to = timestamps[-1].signed_revision if timestamps else -1
    pending = [s for s in reader.embedded_regular_signatures if s.signed_revision > covered_up_to]
    paths: list[ValidationPath] = []
    try:
        for item in [*pending, *timestamps[-1:]]:
            paths += await collect_validation_info(item, context)
        async for path in timestamper.validation_paths(context):  # type: ignore[no-untyped-call]
            paths.append(path)  # the new timestamp's TSA, checked before it is used
    except (PathBuildingError, PathValidationError) as exc:
        raise DocumentRefused(
            "archive_unverifiable",
            "Không gia hạn lưu trữ được: chữ ký hoặc dấu thời gian cuối không còn kiểm tra "
            "được (chứng thư số hết hạn hoặc bị thu hồi).",
        ) from exc
    crls, ocsps = _relevant_revocation_data(paths, context)
    DocumentSecurityStore.supply_dss_in_writer(
        writer, sig_contents=None, paths=paths, crls=crls, ocsps=ocsps
    )
    await PdfTimeStamper(timestamper).async_timestamp_pdf(writer, "sha256", in_place=True)
    return bytes(writer.prev.stream.getbuffer())


def extend_archive(pdf: bytes, *, timestamper: TimeStamper, validation: ValidationSetup) -> bytes:
    """Add validation data and an archive (document) timestamp: PAdES B-LTA."""
    return asyncio.run(_extend(pdf, timestamper, validation.validation_context()))
