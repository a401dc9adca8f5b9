"""Administration of the certificate registry and of seal authorisations: which custodian may
apply an agency's organisational certificate (the second seal), and for how long.
Administrators only; see ``records.admin`` for what every administration use case promises.
Registering a certificate is ``records.certificates.register_certificate``, run on
``certificate_deps``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from records.admin import AdminDeps, InvalidFields, day_field, text_field
from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ
from records.certificates import CertificateDeps, grant_seal_authorisation
from records.model import CertificateRecord, SealAuthorisation

__all__ = [
    "AuthorisationDraft",
    "certificate_deps",
    "grant_authorisation",
    "list_authorisations",
    "list_certificates",
]


def certificate_deps(deps: AdminDeps) -> CertificateDeps:
    """The certificate registry's use cases run on the same store, clock and audit key."""
    return CertificateDeps(store=deps.store, clock=deps.clock, audit_key=deps.audit_key)


def list_certificates(deps: AdminDeps, who: Principal) -> list[CertificateRecord]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.certificates()


def list_authorisations(deps: AdminDeps, who: Principal) -> list[SealAuthorisation]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.authorisations()


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthorisationDraft:
    certificate_id: str = ""
    custodian_username: str = ""
    valid_from: str = ""  # a date, Vietnam time: from the start of that day
    valid_to: str = ""  # a date, Vietnam time: to the end of that day
    reference: str = ""
    handover_reference: str = ""


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def grant_authorisation(deps: AdminDeps, who: Principal,
                        draft: AuthorisationDraft) -> SealAuthorisation:
    """Authorise a seal custodian to apply an organisational certificate, under the written
    authorisation and the handover minutes of the second seal (DOMAIN.md)."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    certificate_id = draft.certificate_id.strip()
    if not certificate_id.isdigit():
        problems["certificate_id"] = "Vui lòng chọn chứng thư số tổ chức."
    if not draft.custodian_username.strip():
        problems["custodian_username"] = "Vui lòng chọn văn thư được giao giữ con dấu."
    start = day_field(draft.valid_from, "valid_from", problems)
    end = day_field(draft.valid_to, "valid_to", problems)
    if start and end and end < start:
        problems["valid_to"] = "Ngày hết hiệu lực phải từ ngày bắt đầu trở đi."
    reference = text_field(draft.reference, "reference", "số, ngày văn bản giao quyền",
                           problems, max_length=300)
    handover = text_field(draft.handover_reference, "handover_reference",
                          "số, ngày biên bản bàn giao", problems, max_length=300)
    if problems or start is None or end is None:
        raise InvalidFields(problems)
    return grant_seal_authorisation(
        certificate_deps(deps), who, certificate_id=int(certificate_id),
        custodian_username=draft.custodian_username.strip(), valid_from=_start_of(start),
        valid_to=_start_of(end + timedelta(days=1)), reference=reference,
        handover_reference=handover)
