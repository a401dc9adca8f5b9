"""What a signature is checked against: trust anchors, revocation data and the moment.

One ``ValidationSetup`` serves both sides: the checks before signing (what gets embedded
for PAdES B-LT is what the setup found) and the verification of a received PDF. It is built
from configuration, never from code: anchors are files or bytes, a national preset is a JSON
list of files under ``signing/presets`` that an administrator fills with the published roots.

``moment`` fixes the time of validation (``None``: now): pyHanko's validation contexts and
the AdES timing use it. pyHanko 0.38 still reads the wall clock in one place, the control
time of past-signature validation (``ades._build_and_past_validate_cert`` passes none), so
a validation far from the real time is exact only with the clock moved too (the tests
freeze it, as pyHanko's own tests do).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.poe import KnownPOE
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing._asn1 import certificate_to_asn1, certificates_from_bytes, crl_to_asn1, ocsp_to_asn1

__all__ = ["PRESETS_DIR", "RevocationFailure", "ValidationSetup"]

PRESETS_DIR = Path(__file__).with_name("presets")


class RevocationFailure(StrEnum):
    """What happens when no revocation status can be had (responder down, no CRL).

    ``HARD``: every certificate in the path must have a CRL or OCSP answer, else the
    certificate is refused before signing and a signature is INDETERMINATE (ETSI EN 319
    102-1 §5.2.6). ``SOFT``: status is checked where the certificate declares a source and
    one answers; otherwise signing goes on and the check reports a warning.
    """

    HARD = "hard-fail"
    SOFT = "soft-fail"


_RULES = {
    RevocationFailure.HARD: RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    RevocationFailure.SOFT: RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
}


def _read(source: Path | bytes) -> bytes:
    return source.read_bytes() if isinstance(source, Path) else source


def _certs(sources: Iterable[Path | bytes]) -> tuple[x509.Certificate, ...]:
    return tuple(cert for source in sources for cert in certificates_from_bytes(_read(source)))


def _der_crl(data: bytes) -> bytes:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data).public_bytes(Encoding.DER)
    return data


@dataclass(frozen=True, kw_only=True)
class ValidationSetup:
    """Trust anchors, extra intermediates, revocation data given directly, and policy."""

    trust_anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[bytes, ...] = ()  # DER CertificateList, e.g. from an offline demo PKI
    ocsp_responses: tuple[bytes, ...] = ()  # DER OCSPResponse
    allow_fetching: bool = False  # fetch CRLs/OCSP named in certificates (HTTP)
    revocation: RevocationFailure = RevocationFailure.HARD
    moment: datetime | None = None
    time_tolerance: timedelta = field(default=timedelta(seconds=1))

    def __post_init__(self) -> None:
        if not self.trust_anchors:
            raise ValueError("a validation setup needs at least one trust anchor")
        if self.moment is not None and self.moment.utcoffset() is None:
            raise ValueError("the moment of validation must be timezone-aware")

    @classmethod
    def from_sources(
        cls,
        *,
        trust_anchors: Iterable[Path | bytes],
        intermediates: Iterable[Path | bytes] = (),
        crls: Iterable[Path | bytes] = (),
        ocsp_responses: Iterable[Path | bytes] = (),
        allow_fetching: bool = False,
        revocation: RevocationFailure | str = RevocationFailure.HARD,
        moment: datetime | None = None,
    ) -> ValidationSetup:
        """Build from PEM or DER files (``Path``) or their bytes."""
        return cls(
            trust_anchors=_certs(trust_anchors),
            intermediates=_certs(intermediates),
            crls=tuple(_der_crl(_read(source)) for source in crls),
            ocsp_responses=tuple(_read(source) for source in ocsp_responses),
            allow_fetching=allow_fetching,
            revocation=RevocationFailure(revocation),
            moment=moment,
        )

    @classmethod
    def from_preset(cls, name: str, directory: Path, **overrides: object) -> ValidationSetup:
        """Load the files a preset lists (``signing/presets/{name}.json``) from ``directory``.

        The preset names the files; the certificates themselves are published by their
        operators and placed in ``directory`` by an administrator, who checks fingerprints.
        """
        spec = json.loads((PRESETS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        anchors = [directory / entry["file"] for entry in spec["trust_anchors"]]
        intermediates = [directory / entry["file"] for entry in spec.get("intermediates", [])]
        missing = [str(path) for path in anchors + intermediates if not path.is_file()]
        if missing:
            raise FileNotFoundError(f"trust preset {name!r}: missing {', '.join(missing)}")
        kwargs: dict[str, object] = {
            "allow_fetching": bool(spec.get("allow_fetching", True)),
            "revocation": spec.get("revocation", RevocationFailure.HARD),
        }
        kwargs.update(overrides)
        return cls.from_sources(
            trust_anchors=anchors, intermediates=intermediates, **kwargs  # type: ignore[arg-type]
        )

    def at(self, moment: datetime | None) -> ValidationSetup:
        """The same setup, validating at ``moment``."""
        return replace(self, moment=moment)

    def with_revocation_data(
        self, *, crls: Iterable[bytes] = (), ocsp_responses: Iterable[bytes] = ()
    ) -> ValidationSetup:
        return replace(
            self,
            crls=self.crls + tuple(crls),
            ocsp_responses=self.ocsp_responses + tuple(ocsp_responses),
        )

    def now(self) -> datetime:
        return self.moment if self.moment is not None else datetime.now(UTC)

    # -- pyHanko glue, used inside the package ------------------------------------------

    def _revinfo_policy(self) -> CertRevTrustPolicy:
        rule = _RULES[self.revocation]
        return CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule))

    def validation_context(self, *, moment: datetime | None = None) -> ValidationContext:
        """A fresh (stateful) certvalidator context: one per signing or check."""
        return ValidationContext(
            trust_roots=[certificate_to_asn1(cert) for cert in self.trust_anchors],
            other_certs=[certificate_to_asn1(cert) for cert in self.intermediates],
            crls=[crl_to_asn1(der) for der in self.crls],
            ocsps=[ocsp_to_asn1(der) for der in self.ocsp_responses],
            allow_fetching=self.allow_fetching,
            moment=moment or self.moment,
            revinfo_policy=self._revinfo_policy(),
            time_tolerance=self.time_tolerance,
        )

    def pdf_validation_spec(
        self, known_poes: Sequence[KnownPOE] = ()
    ) -> PdfSignatureValidationSpec:
        """The AdES validation policy (ETSI EN 319 102-1) for ``verify_pdf``.

        ``known_poes``: proofs of existence the validator holds (ETSI EN 319 102-1 §5.6.2.3);
        ``verify_pdf`` passes one at the validation moment for every certificate, CRL and
        OCSP answer it was given, see there why.
        """
        rule = (
            RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
            if self.allow_fetching
            else RevinfoOnlineFetchingRule.LOCAL_ONLY
        )
        policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(
                [certificate_to_asn1(cert) for cert in self.trust_anchors]
            ),
            revinfo_policy=self._revinfo_policy(),
            time_tolerance=self.time_tolerance,
        )
        knowledge = LocalKnowledge(
            known_crls=[CRLContainer(crl_to_asn1(der)) for der in self.crls],
            known_ocsps=[OCSPContainer(ocsp_to_asn1(der)) for der in self.ocsp_responses],
            known_certs=[certificate_to_asn1(cert) for cert in self.intermediates],
            known_poes=list(known_poes),
        )
        return PdfSignatureValidationSpec(
            signature_validation_spec=SignatureValidationSpec(
                cert_validation_policy=policy,
                revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=rule),
                local_knowledge=knowledge,
            )
        )

    def timing_info(self) -> ValidationTimingInfo:
        moment = self.now()
        return ValidationTimingInfo(
            validation_time=moment,
            best_signature_time=moment,
            point_in_time_validation=self.moment is not None,
        )
