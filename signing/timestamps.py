"""RFC 3161 timestamps: a TSA over HTTP, or one embedded in the process for the offline demo.

Both are pyHanko ``TimeStamper``s behind one factory. Reuse one timestamper for a batch:
pyHanko caches the TSA's certificates it learns from a first (dummy) request on the
instance (``TimeStamper._ensure_dummy``), so only the first signature pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, core  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from signing._asn1 import certificate_to_asn1, private_key_to_asn1

__all__ = ["EmbeddedTimeStamper", "EmbeddedTsa", "HttpTsa", "TsaConfig", "make_timestamper"]


@dataclass(frozen=True, kw_only=True)
class HttpTsa:
    """A TSA answering RFC 3161 requests over HTTP (``application/timestamp-query``)."""

    url: str
    timeout: float = 10.0
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, kw_only=True)
class EmbeddedTsa:
    """A TSA run inside the process with a certificate and key from the demo PKI.

    ``clock`` gives the time written into each token; tests inject one to sign "in 2025".
    The certificate must carry the critical timeStamping extended key usage (RFC 3161 §2.3).
    """

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    chain: Sequence[x509.Certificate] = ()
    clock: Callable[[], datetime] | None = None


TsaConfig = HttpTsa | EmbeddedTsa


class EmbeddedTimeStamper(DummyTimeStamper):
    """pyHanko's ``DummyTimeStamper`` with the key kept parsed and an injectable clock.

    The upstream class parses the TSA key for every token (35-48 ms for RSA with
    cryptography 50's key checks); this one parses it once.
    """

    def __init__(self, config: EmbeddedTsa) -> None:
        chain = [certificate_to_asn1(cert) for cert in config.chain]
        super().__init__(
            tsa_cert=certificate_to_asn1(config.certificate),
            tsa_key=private_key_to_asn1(config.key),
            certs_to_embed=chain,  # type: ignore[arg-type]
            override_md="sha256",
        )
        self._key = config.key
        self._clock = config.clock

    def request_tsa_response(self, req: Any) -> Any:
        # DummyTimeStamper reads the token time from ``fixed_dt``; set it per request.
        self.fixed_dt = (self._clock or _utc_now)()
        return super().request_tsa_response(req)

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> Any:
        digest = get_pyca_cryptography_hash(md_algorithm)
        hasher = hashes.Hash(digest)
        hasher.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                _attribute("content_type", "tst_info"),
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                _attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
                _attribute("message_digest", hasher.finalize()),
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), padding.PKCS1v15(), digest)
        return signature, signed_attrs


def _attribute(name: str, value: Any) -> Any:
    return simple_cms_attribute(name, value)  # type: ignore[no-untyped-call]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def make_timestamper(config: TsaConfig) -> TimeStamper:
    """The pyHanko timestamper for a configured TSA."""
    if isinstance(config, HttpTsa):
        auth = (
            (config.username, config.password or "")
            if config.username is not None
            else None
        )
        return HTTPTimeStamper(config.url, timeout=config.timeout, auth=auth)
    return EmbeddedTimeStamper(config)
