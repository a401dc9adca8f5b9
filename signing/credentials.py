"""Signing credentials: a certificate, its chain and a pyHanko ``Signer`` holding the key.

Two sources: a PKCS#12 file (the demo PKI, software certificates) and a PKCS#11 token
(USB tokens and HSMs; SoftHSM2 in tests). A credential is opened once and reused for a
batch: the PKCS#12 key is parsed once (pyHanko's ``SimpleSigner`` re-parses it for every
raw signature, 2 x 48 ms per PAdES signature with cryptography 50's RSA key checks), and
a token session is logged in once, so a batch enters the PIN once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from signing._asn1 import certificate_from_asn1, certificate_to_asn1
from signing.errors import CredentialRefused

__all__ = ["Credential", "KeptKeySigner", "load_pkcs12", "open_pkcs11"]


class KeptKeySigner(Signer):
    """A pyHanko signer that keeps the parsed private key in memory for its lifetime."""

    def __init__(
        self,
        *,
        key: PrivateKeyTypes,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        prefer_pss: bool = False,
    ) -> None:
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        registry.register_multiple([certificate_to_asn1(cert) for cert in chain])
        super().__init__(
            prefer_pss=prefer_pss,
            # the validator has the root as its trust anchor; leaving it out of the CMS
            # shortens /Contents, which every reader of the PDF parses (RFC 5652 §5.1)
            embed_roots=False,
            signing_cert=certificate_to_asn1(certificate),
            cert_registry=registry,
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algorithm = mechanism.signature_algo
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            if algorithm == "rsassa_pss":
                pss, pss_hash = process_pss_params(mechanism["parameters"])
                return key.sign(data, pss, pss_hash)
            return key.sign(data, padding.PKCS1v15(), _hash(digest_algorithm))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(_hash(digest_algorithm)))
        if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            return key.sign(data)
        raise CredentialRefused(
            "unsupported_key", f"Loại khóa {type(key).__name__} không được hỗ trợ để ký số."
        )


def _hash(digest_algorithm: str) -> hashes.HashAlgorithm:
    return get_pyca_cryptography_hash(digest_algorithm)


@dataclass(frozen=True, kw_only=True, eq=False)
class Credential:
    """An opened signing credential. Close it (or use ``with``) when the batch is done."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    signer: Signer
    source: str  # "pkcs12:/path" or "pkcs11:token-label", for logs and the audit trail
    _close: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def common_name(self) -> str:
        return _attribute(self.certificate, NameOID.COMMON_NAME)

    @property
    def organisation(self) -> str:
        return _attribute(self.certificate, NameOID.ORGANIZATION_NAME)

    def close(self) -> None:
        if self._close is not None:
            self._close()

    def __enter__(self) -> Credential:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def load_pkcs12(path: Path | str, passphrase: str | bytes | None) -> Credential:
    """Open a PKCS#12 (.p12/.pfx) file; a wrong passphrase is a ``CredentialRefused``."""
    secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CredentialRefused(
            "credential_missing", f"Không đọc được tệp chứng thư số {Path(path).name}."
        ) from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        raise CredentialRefused(
            "passphrase_incorrect", "Mật khẩu tệp chứng thư số không đúng hoặc tệp bị hỏng."
        ) from exc
    if key is None or cert is None:
        raise CredentialRefused(
            "credential_incomplete", "Tệp chứng thư số không chứa khóa bí mật và chứng thư số."
        )
    chain = tuple(extra)
    return Credential(
        certificate=cert,
        chain=chain,
        signer=KeptKeySigner(key=key, certificate=cert, chain=chain),
        source=f"pkcs12:{path}",
    )


def open_pkcs11(
    module_path: str,
    token_label: str,
    pin: str,
    key_label: str | None = None,
    cert_label: str | None = None,
) -> Credential:
    """Log in to a PKCS#11 token once and return a credential using its key.

    Without labels the token must hold exactly one private key, which is used with the
    certificate of the same label (or id). The other certificates on the token form the
    chain. Close the credential to log out.
    """
    try:
        session = open_pkcs11_session(
            module_path, token_criteria=TokenCriteria(label=token_label), user_pin=pin
        )
    except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange) as exc:
        raise CredentialRefused("pin_incorrect", "Mã PIN không đúng.") from exc
    except pkcs11.PinLocked as exc:
        raise CredentialRefused(
            "pin_locked", "Thiết bị ký số đã bị khóa do nhập sai mã PIN quá số lần cho phép."
        ) from exc
    except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
        raise CredentialRefused(
            "token_unavailable", f"Không mở được thiết bị ký số {token_label!r}."
        ) from exc
    try:
        key_id = None
        if key_label is None and cert_label is None:
            key_label, key_id = _single_key(session)
        signer = PKCS11Signer(
            session,
            cert_label=cert_label if cert_label is not None else key_label,
            key_label=key_label,
            key_id=key_id if key_label is None else None,
            cert_id=key_id if key_label is None else None,
            other_certs_to_pull=None,
            embed_roots=False,
        )
        asn1_cert = signer.signing_cert  # loads the key handle and certificates now
        cert = certificate_from_asn1(asn1_cert)
        chain = tuple(
            certificate_from_asn1(other)
            for other in signer.cert_registry
            if other.dump() != asn1_cert.dump()
        )
    except CredentialRefused:
        session.close()
        raise
    except pkcs11.PKCS11Error as exc:
        session.close()
        raise CredentialRefused(
            "token_key_missing",
            "Không tìm thấy khóa bí mật hoặc chứng thư số trên thiết bị ký số.",
        ) from exc
    return Credential(
        certificate=cert,
        chain=chain,
        signer=signer,
        source=f"pkcs11:{token_label}",
        _close=session.close,
    )


def _single_key(session: pkcs11.Session) -> tuple[str | None, bytes | None]:
    keys = list(session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY}))
    if len(keys) != 1:
        raise CredentialRefused(
            "token_key_ambiguous",
            f"Thiết bị ký số có {len(keys)} khóa bí mật: cần chỉ rõ nhãn khóa.",
        )
    key = keys[0]
    label = key[pkcs11.Attribute.LABEL] or None
    key_id = None if label else bytes(key[pkcs11.Attribute.ID])
    return label, key_id
