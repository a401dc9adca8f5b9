"""``records`` ports on the signing package: the result template and the signatures.

``ResultTemplate`` implements ``records.ports.ResultRenderer`` and ``PadesService``
implements ``records.ports.SigningPort``; the composition root builds them once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from pyhanko.sign.timestamps import TimeStamper

from records.errors import InvalidInput
from records.model import CertificateKind, CertificateRecord
from records.ports import DraftInput, RenderedDraft
from signing.appearance import PersonalAppearance, SealAppearance
from signing.archive import extend_archive
from signing.checks import Purpose, check_signing_certificate
from signing.credentials import Credential, load_pkcs12, open_pkcs11
from signing.demo_pki import DemoPki
from signing.drafting import ResultSpec, render_result
from signing.images import make_seal_png, make_signature_png
from signing.pades import apply_seal, sign_personal
from signing.qr import qr_png
from signing.timestamps import HttpTsa, make_timestamper
from signing.trust import RevocationFailure, ValidationSetup

__all__ = [
    "PERSONAL_FIELD",
    "SEAL_FIELD",
    "ConfiguredTrust",
    "DemoTrust",
    "PadesService",
    "ResultTemplate",
    "describe_certificate",
]

PERSONAL_FIELD = "ChuKyNguoiCoThamQuyen"
SEAL_FIELD = "DauCoQuan"


class ResultTemplate:
    """The administrative document template (Decree 30/2020 Appendix I) with its QR code."""

    def render(self, draft: DraftInput) -> RenderedDraft:
        rendered = render_result(ResultSpec(
            parent_agency=draft.agency_parent, agency=draft.agency_name,
            number=draft.number, place=draft.place, issue_date=draft.issue_date,
            title=draft.title, subject=draft.subject, body=draft.body,
            recipients=draft.recipients, signer_titles=draft.signer_title_lines,
            signer_name=draft.signer_name, result_code=draft.result_code,
            qr_png=qr_png(draft.verification_url)))
        return RenderedDraft(pdf=rendered.pdf, page_count=rendered.page_count,
                             signature_page=rendered.signature_page,
                             personal_box=rendered.personal_box, seal_box=rendered.seal_box)


class PadesService:
    """Signs results: PAdES B-LT with the configured timestamps and validation data."""

    def __init__(self, *, validation: Callable[[], ValidationSetup],
                 timestamper: Callable[[], TimeStamper]) -> None:
        self._validation = validation
        self._timestamper = timestamper
        self._loaded: dict[tuple[str, str], Credential] = {}
        self._lock = threading.Lock()

    def problems(self, certificate: CertificateRecord, *, at: datetime
                 ) -> list[tuple[str, str]]:
        cert = x509.load_pem_x509_certificate(certificate.pem.encode("ascii"))
        purpose: Purpose = ("personal" if certificate.kind is CertificateKind.PERSONAL
                            else "organisation")
        check = check_signing_certificate(cert, validation=self._validation(), at=at,
                                          purpose=purpose)
        return [(str(p.code), p.message) for p in check.problems if p.blocking]

    def _credential(self, certificate: CertificateRecord, secret: str | None) -> Credential:
        if certificate.store == "pkcs11":
            if not secret:
                raise InvalidInput("pin_required", "Vui lòng nhập mã PIN của thiết bị ký số.",
                                   field="pin")
            return open_pkcs11(certificate.location, certificate.label, secret,
                               key_label=certificate.label or None)
        # A PKCS#12 key is kept loaded for the batch (keyed by file and secret): loading it
        # costs more than a signature (FINDINGS "Signing").
        key = (certificate.location, hashlib.sha256((secret or "").encode()).hexdigest())
        with self._lock:
            if key not in self._loaded:
                if not secret:
                    raise InvalidInput("pin_required", "Vui lòng nhập mật khẩu chứng thư số.",
                                       field="pin")
                self._loaded[key] = load_pkcs12(Path(certificate.location), secret)
            return self._loaded[key]

    def sign_personal(self, pdf: bytes, *, certificate: CertificateRecord,
                      secret: str | None, page: int, box: tuple[float, float, float, float],
                      signer_name: str, title_lines: tuple[str, ...]) -> bytes:
        credential = self._credential(certificate, secret)
        try:
            # The template prints the title above the stamp and the name below it.
            del title_lines
            appearance = PersonalAppearance(
                title_lines=(), signer_name=signer_name, show_name=False,
                signature_image=make_signature_png(certificate.fingerprint))
            # The port counts pages from 1, pyHanko from 0.
            return sign_personal(pdf, credential, field_name=PERSONAL_FIELD, box=box,
                                 page=page - 1, appearance=appearance,
                                 timestamper=self._timestamper(),
                                 validation=self._validation())
        finally:
            if certificate.store == "pkcs11":
                credential.close()

    def apply_seal(self, pdf: bytes, *, certificate: CertificateRecord, secret: str | None,
                   page: int, box: tuple[float, float, float, float]) -> bytes:
        credential = self._credential(certificate, secret)
        try:
            appearance = SealAppearance(seal_image=make_seal_png(certificate.organisation,
                                                                 certificate.fingerprint))
            return apply_seal(pdf, credential, field_name=SEAL_FIELD, box=box, page=page - 1,
                              appearance=appearance,
                              timestamper=self._timestamper(),
                              validation=self._validation())
        finally:
            if certificate.store == "pkcs11":
                credential.close()

    def extend_archive(self, pdf: bytes) -> bytes:
        return extend_archive(pdf, timestamper=self._timestamper(),
                              validation=self._validation())


class DemoTrust:
    """Validation and timestamps from the demo PKI under ``directory`` (the embedded
    default): trust the demo root, use its CRLs offline, timestamp in-process."""

    def __init__(self, directory: Path, *, clock: Callable[[], datetime]) -> None:
        # The demo PKI validates offline on purpose (its CRLs are given, never fetched):
        # pyHanko's warning about that on every signature is noise here.
        logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)
        self._directory = directory
        self._clock = clock
        self._pki: DemoPki | None = None
        self._refreshed: datetime | None = None
        self._lock = threading.Lock()

    def pki(self) -> DemoPki:
        with self._lock:
            now = self._clock()
            # The demo CA issues CRLs valid for a week: issue fresh ones twice a day. Reload
            # first, so that a revocation recorded meanwhile is not undone by a stale copy.
            if self._pki is None or self._refreshed is None or abs(
                    now - self._refreshed) > timedelta(hours=12):
                self._pki = DemoPki.load(self._directory)
                self._pki.refresh_crls(now)
                self._refreshed = now
            return self._pki

    def validation(self) -> ValidationSetup:
        # Validate at the service's clock, the one the CRLs and timestamps speak for.
        return self.pki().validation_setup(moment=self._clock())

    def timestamper(self) -> TimeStamper:
        return make_timestamper(self.pki().tsa_config(clock=self._clock))


class ConfiguredTrust:
    """Validation from configured trust anchors with OCSP/CRL fetching, and an RFC 3161 TSA
    over HTTP: how a centre runs against the national PKI."""

    def __init__(self, *, anchors: Sequence[Path], intermediates: Sequence[Path],
                 tsa_url: str, soft_fail: bool) -> None:
        self._setup = ValidationSetup.from_sources(
            trust_anchors=anchors, intermediates=intermediates, allow_fetching=True,
            revocation=RevocationFailure.SOFT if soft_fail else RevocationFailure.HARD)
        self._tsa = HttpTsa(url=tsa_url)

    def validation(self) -> ValidationSetup:
        return self._setup

    def timestamper(self) -> TimeStamper:
        return make_timestamper(self._tsa)


def describe_certificate(pem: bytes, *, kind: CertificateKind, store: str, location: str,
                         label: str = "", owner_username: str | None = None,
                         agency_code: str | None = None) -> CertificateRecord:
    """A registry record for a PEM certificate: what it says of itself, and where its key is."""
    cert = x509.load_pem_x509_certificate(pem)

    def attribute(oid: x509.ObjectIdentifier) -> str:
        found = cert.subject.get_attributes_for_oid(oid)
        return str(found[0].value) if found else ""

    return CertificateRecord(
        id=0, kind=kind, fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        subject=attribute(NameOID.COMMON_NAME), organisation=attribute(NameOID.ORGANIZATION_NAME),
        serial=format(cert.serial_number, "x"), issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), store=store,
        location=location, label=label, owner_username=owner_username,
        agency_code=agency_code)
