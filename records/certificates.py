"""The certificate registry: whose certificate, which agency's seal, and who may apply it.

[DOMAIN.md "The second seal model": the system must know which organisational certificate
belongs to which agency, who is authorised to apply it, and since when.]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from records.audit import AuditEvent
from records.authz import Action, Principal, authorize
from records.errors import Conflict, InvalidInput
from records.model import CertificateKind, CertificateRecord, Role, SealAuthorisation
from records.ports import Clock
from records.repository import RecordsStore

__all__ = ["CertificateDeps", "grant_seal_authorisation", "register_certificate"]


@dataclass(frozen=True, kw_only=True)
class CertificateDeps:
    store: RecordsStore
    clock: Clock
    audit_key: bytes


def register_certificate(deps: CertificateDeps, who: Principal,
                         record: CertificateRecord) -> CertificateRecord:
    """Record a certificate (already parsed by the signing package) and where its key is."""
    authorize(who, Action.ADMINISTER)
    if record.store not in ("pkcs12", "pkcs11"):
        raise InvalidInput("invalid_store", "Nơi lưu khóa phải là tệp PKCS#12 hoặc thiết bị "
                           "PKCS#11.", field="store")
    with deps.store.session() as tx:
        if tx.certificate_by_fingerprint(record.fingerprint) is not None:
            raise Conflict("duplicate_certificate", "Chứng thư số này đã được đăng ký.")
        if record.kind is CertificateKind.PERSONAL:
            owner = tx.get_user(record.owner_username or "")
            if owner is None or Role.SIGNER not in owner.roles:
                raise InvalidInput("invalid_owner", "Chứng thư số cá nhân phải thuộc về một "
                                   "lãnh đạo có thẩm quyền ký.", field="owner_username")
            record = replace(record, agency_code=None)
        elif tx.get_agency(record.agency_code or "") is None:
            raise InvalidInput("invalid_agency", "Chứng thư số tổ chức phải thuộc về một cơ quan"
                               " đã đăng ký.", field="agency_code")
        stored = tx.add_certificate(record)
        tx.append_audit(AuditEvent(actor=who.username, action="certificate.register",
                                   object_type="certificate", object_id=record.fingerprint,
                                   detail={"kind": record.kind.value, "subject": record.subject,
                                           "owner": record.owner_username,
                                           "agency": record.agency_code}),
                        at=deps.clock.now(), key=deps.audit_key)
        return stored


def grant_seal_authorisation(deps: CertificateDeps, who: Principal, *, certificate_id: int,
                             custodian_username: str, valid_from: datetime,
                             valid_to: datetime, reference: str,
                             handover_reference: str) -> SealAuthorisation:
    """Authorise a seal custodian to apply an agency's organisational certificate."""
    authorize(who, Action.ADMINISTER)
    if valid_to <= valid_from:
        raise InvalidInput("invalid_period", "Ngày hết hiệu lực phải sau ngày bắt đầu.",
                           field="valid_to")
    if not reference.strip() or not handover_reference.strip():
        raise InvalidInput("reference_required", "Cần số văn bản giao quyền và biên bản bàn "
                           "giao con dấu thứ hai.", field="reference")
    now = deps.clock.now()
    with deps.store.session() as tx:
        certificate = tx.get_certificate(certificate_id)
        if certificate is None or certificate.kind is not CertificateKind.ORGANISATION:
            raise InvalidInput("invalid_certificate", "Không có chứng thư số tổ chức này.",
                               field="certificate_id")
        custodian = tx.get_user(custodian_username)
        if (custodian is None or Role.SEAL_CUSTODIAN not in custodian.roles
                or custodian.agency_code != certificate.agency_code):
            raise InvalidInput("invalid_custodian", "Người được giao phải là văn thư giữ con "
                               "dấu của cơ quan sở hữu chứng thư số.",
                               field="custodian_username")
        granted = tx.add_authorisation(SealAuthorisation(
            id=0, agency_code=certificate.agency_code or "", certificate_id=certificate.id,
            custodian_username=custodian_username, valid_from=valid_from, valid_to=valid_to,
            reference=reference.strip(), handover_reference=handover_reference.strip(),
            granted_by=who.username, granted_at=now))
        tx.append_audit(AuditEvent(actor=who.username, action="seal.authorise",
                                   object_type="certificate", object_id=certificate.fingerprint,
                                   detail={"custodian": custodian_username,
                                           "from": valid_from.isoformat(),
                                           "to": valid_to.isoformat(), "reference": reference}),
                        at=now, key=deps.audit_key)
        return granted
