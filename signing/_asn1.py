"""The one place where ``cryptography`` objects cross into asn1crypto, pyHanko's type system.

The public API of ``signing`` speaks ``cryptography.x509``; pyHanko and its certificate
validator speak asn1crypto, which ships no type information. The conversions (and the
``type: ignore`` they need) stay here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asn1crypto import crl as asn1_crl  # type: ignore[import-untyped]
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = [
    "Asn1Certificate",
    "certificate_from_asn1",
    "certificate_to_asn1",
    "certificates_from_bytes",
    "crl_to_asn1",
    "ocsp_to_asn1",
    "private_key_to_asn1",
]

Asn1Certificate = Any  # asn1crypto.x509.Certificate: untyped upstream


def certificate_to_asn1(cert: x509.Certificate) -> Asn1Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def certificate_from_asn1(cert: Asn1Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def private_key_to_asn1(key: PrivateKeyTypes) -> Any:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def crl_to_asn1(der: bytes) -> Any:
    return asn1_crl.CertificateList.load(der)


def ocsp_to_asn1(der: bytes) -> Any:
    return asn1_ocsp.OCSPResponse.load(der)


def certificates_from_bytes(data: bytes) -> list[x509.Certificate]:
    """Every certificate in ``data``: PEM (one or many) or a single DER certificate."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def der_certificates(certs: Iterable[x509.Certificate]) -> list[bytes]:
    return [cert.public_bytes(serialization.Encoding.DER) for cert in certs]
