"""E-signatures for results: PAdES signing (personal signature, then the organisation's
seal), certificate checks, timestamps, verification and a demo PKI.

The law it implements is summarised in DOMAIN.md "E-signatures" [Decree 30/2020 Art. 32-33,
Appendix I; Decree 23/2025; Decree 68/2024]; the formats are ETSI EN 319 142-1 (PAdES) and
EN 319 102-1 (validation). Everything a caller needs is named here.
"""

from signing.appearance import (
    AttachmentAppearance,
    PersonalAppearance,
    SealAppearance,
    format_signing_time,
)
from signing.archive import extend_archive
from signing.checks import (
    CertificateCheck,
    CertificateProblem,
    ProblemCode,
    Purpose,
    check_signing_certificate,
    is_organisation_certificate,
)
from signing.credentials import Credential, load_pkcs12, open_pkcs11
from signing.demo_pki import DemoHolder, DemoPki, DemoValidity
from signing.errors import (
    CertificateRefused,
    CredentialRefused,
    DocumentRefused,
    SealRefused,
    SigningRefused,
)
from signing.images import make_seal_png, make_signature_png
from signing.pades import (
    apply_seal,
    seal_box_over,
    sign_attachment_seal,
    sign_personal,
)
from signing.report import (
    INDICATION_LABELS,
    SUBINDICATION_LABELS,
    ChainStatus,
    DocumentTimestampReport,
    Indication,
    ModificationLevel,
    PadesLevel,
    SignatureReport,
    VerificationOutcome,
    VerificationReport,
)
from signing.timestamps import EmbeddedTsa, HttpTsa, TsaConfig, make_timestamper
from signing.trust import RevocationFailure, ValidationSetup
from signing.verify import verify_pdf

__all__ = [
    "INDICATION_LABELS",
    "SUBINDICATION_LABELS",
    "AttachmentAppearance",
    "CertificateCheck",
    "CertificateProblem",
    "CertificateRefused",
    "ChainStatus",
    "Credential",
    "CredentialRefused",
    "DemoHolder",
    "DemoPki",
    "DemoValidity",
    "DocumentRefused",
    "DocumentTimestampReport",
    "EmbeddedTsa",
    "HttpTsa",
    "Indication",
    "ModificationLevel",
    "PadesLevel",
    "PersonalAppearance",
    "ProblemCode",
    "Purpose",
    "RevocationFailure",
    "SealAppearance",
    "SealRefused",
    "SignatureReport",
    "SigningRefused",
    "TsaConfig",
    "ValidationSetup",
    "VerificationOutcome",
    "VerificationReport",
    "apply_seal",
    "check_signing_certificate",
    "extend_archive",
    "format_signing_time",
    "is_organisation_certificate",
    "load_pkcs12",
    "make_seal_png",
    "make_signature_png",
    "make_timestamper",
    "open_pkcs11",
    "seal_box_over",
    "sign_attachment_seal",
    "sign_personal",
    "verify_pdf",
]
