"""The Document Security Store of a PDF, read once (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1
§5.4.2): certificates, CRLs and OCSP answers embedded for long-term validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asn1crypto.crl import CertificateList  # type: ignore[import-untyped]
from asn1crypto.ocsp import OCSPResponse  # type: ignore[import-untyped]
from asn1crypto.x509 import Certificate  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.policy_decl import LocalKnowledge
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

__all__ = ["DssContents"]


@dataclass(frozen=True)
class DssContents:
    certificates: list[bytes] = field(default_factory=list)  # DER
    crls: list[bytes] = field(default_factory=list)
    ocsp_responses: list[bytes] = field(default_factory=list)

    @classmethod
    def read(cls, reader: PdfFileReader) -> DssContents:
        try:
            dss = DocumentSecurityStore.read_dss(reader)
        except NoDSSFoundError:
            return cls()
        return cls(
            certificates=[cert.dump() for cert in dss.load_certs()],
            crls=[ref.get_object().read_data(DecodePurpose.CRL) for ref in dss.crls],
            ocsp_responses=[
                ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE) for ref in dss.ocsps
            ],
        )

    def knowledge(self) -> LocalKnowledge:
        """The DSS as pyHanko's local knowledge, as ``ades_lta_validation`` reads it."""
        ocsps: list[Any] = []
        for data in self.ocsp_responses:
            ocsps.extend(OCSPContainer.load_multi(OCSPResponse.load(data)))
        return LocalKnowledge(
            known_ocsps=ocsps,
            known_crls=[CRLContainer(CertificateList.load(data)) for data in self.crls],
            known_certs=[Certificate.load(data) for data in self.certificates],
        )

    def covers(self, cert: x509.Certificate) -> bool:
        """Revocation data for ``cert`` is here: a CRL of its issuer or an OCSP answer."""
        issuer = cert.issuer.public_bytes()
        if any(x509.load_der_x509_crl(data).issuer.public_bytes() == issuer for data in self.crls):
            return True
        for data in self.ocsp_responses:
            response = ocsp.load_der_ocsp_response(data)
            if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL and any(
                single.serial_number == cert.serial_number for single in response.responses
            ):
                return True
        return False
