"""Refusals of the signing core: a stable code and the Vietnamese message a user reads.

They extend ``records.errors.DomainError`` so the API maps them like every other refusal.
Expected verification outcomes (a broken signature, an unsigned file) are values in
``signing.verify``, not exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from records.errors import DomainError

if TYPE_CHECKING:
    from signing.checks import CertificateCheck

__all__ = [
    "CertificateRefused",
    "CredentialRefused",
    "DocumentRefused",
    "SealRefused",
    "SigningRefused",
]


class SigningRefused(DomainError):
    """Base of every signing refusal."""

    http_status = 409


class CredentialRefused(SigningRefused):
    """The key store could not be opened: wrong PIN or passphrase, no token, no key."""

    http_status = 422


class CertificateRefused(SigningRefused):
    """The certificate failed the checks made before signing [Decree 30/2020 Art. 32]."""

    http_status = 422

    def __init__(self, check: CertificateCheck) -> None:
        problems = check.problems
        message = "Chứng thư số không dùng để ký được: " + "; ".join(
            problem.message for problem in problems
        )
        code = problems[0].code if problems else "certificate_refused"
        super().__init__(code, message)
        self.check = check


class SealRefused(SigningRefused):
    """The organisation's signature may not be applied to this document."""


class DocumentRefused(SigningRefused):
    """The input is not a PDF this core can sign (damaged, encrypted, not a PDF)."""

    http_status = 422
