"""Certificate, CRL and OCSP builders for the demo PKI (``cryptography`` only).

Profiles follow RFC 5280 and what Vietnamese public CAs issue: RSA-2048, SHA-256, subject
C=VN, key usage digitalSignature + nonRepudiation for signers (Decree 23/2025 leaves the
profile to the CA; these are the common values), a critical timeStamping extended key usage
for the TSA (RFC 3161 §2.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "Profile",
    "Revocation",
    "build_certificate",
    "build_crl",
    "build_ocsp",
    "name",
    "new_key",
]

_KEY_SIZE = 2048


class Profile(StrEnum):
    ROOT = "root"
    CA = "ca"
    PERSONAL = "personal"
    ORGANISATION = "organisation"
    TSA = "tsa"


@dataclass(frozen=True, kw_only=True)
class Revocation:
    serial: int
    at: datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)


def name(
    common_name: str, *, organisation: str | None = None, title: str | None = None
) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if title:
        attributes.append(x509.NameAttribute(NameOID.TITLE, title))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(profile: Profile) -> x509.KeyUsage:
    ca = profile in (Profile.ROOT, Profile.CA)
    signer = profile in (Profile.PERSONAL, Profile.ORGANISATION)
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=signer,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def build_certificate(
    *,
    subject: x509.Name,
    public_key: CertificateIssuerPublicKeyTypes,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey,
    profile: Profile,
    not_before: datetime,
    not_after: datetime,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
) -> x509.Certificate:
    """Issue one certificate; ``issuer=None`` makes it self-signed (a root)."""
    ca = profile in (Profile.ROOT, Profile.CA)
    issuer_public = issuer_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=0 if profile is Profile.CA else None),
            critical=True,
        )
        .add_extension(_key_usage(profile), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public),
            critical=False,
        )
    )
    if profile is Profile.TSA:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if crl_url is not None and issuer is not None:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if ocsp_url is not None and issuer is not None:
        access = x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def build_crl(
    *,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    revoked: Iterable[Revocation],
    at: datetime,
    next_update: timedelta,
    number: int,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(at)
        .next_update(at + next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for entry in revoked:
        if entry.at > at:
            continue  # not revoked yet at the time this CRL speaks for
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.at)
            .add_extension(x509.CRLReason(entry.reason), critical=False)
            .build()
        )
    return builder.sign(issuer_key, hashes.SHA256())


def build_ocsp(
    *,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    revocation: Revocation | None,
    at: datetime,
    next_update: timedelta,
) -> ocsp.OCSPResponse:
    """A CA-signed OCSP answer (RFC 6960 §4.2.2.2: the issuer itself may respond)."""
    revoked = revocation is not None and revocation.at <= at
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=hashes.SHA1(),  # noqa: S303 - the CertID hash RFC 6960 clients expect
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=at,
        next_update=at + next_update,
        revocation_time=revocation.at if revoked and revocation else None,
        revocation_reason=revocation.reason if revoked and revocation else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    return builder.sign(issuer_key, hashes.SHA256())
