"""Other agencies query a person's reusable documents for a named procedure, and every query
and fetch is logged where the person can see it.

The legal basis is the procedure's own law or the person's consent [Decree 13/2023 Art. 11,
17; Law 91/2025]: a query must name its purpose and the dossier, and a legal basis or a
consent record; an agency client may only ask for the procedures it is scoped to, and only
receives papers of the types that procedure requires. Estonia's Data Tracker is the model
for what the citizen sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from records.audit import AuditEvent
from records.authz import Principal
from records.calendar import VN_TZ
from records.documents import FileToSend
from records.errors import Forbidden, InvalidInput, NotFound
from records.identifiers import validate_owner_id
from records.model import Role, StoreItem
from records.ports import Clock
from records.repository import RecordsSession, RecordsStore

__all__ = ["AccessEntry", "AgencyDeps", "AgencyRequest", "access_log", "agency_documents",
           "agency_fetch"]

ACCESS_ACTIONS = frozenset({"agency.query", "agency.fetch"})


@dataclass(frozen=True, kw_only=True)
class AgencyDeps:
    store: RecordsStore
    clock: Clock
    audit_key: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class AgencyRequest:
    owner_id: str
    procedure_code: str
    purpose: str
    officer: str  # the person at the other agency who asks
    dossier_code: str = ""
    legal_basis: str = ""  # e.g. "Điều 11 Nghị định 13/2023/NĐ-CP"
    consent_ref: str = ""  # the citizen's consent record


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessEntry:
    at: datetime
    agency: str
    officer: str
    purpose: str
    procedure_code: str
    documents: tuple[str, ...]
    action: str


def _allowed(tx: RecordsSession, who: Principal, request: AgencyRequest,
             today_items: list[StoreItem]) -> list[StoreItem]:
    if not who.has(Role.AGENCY):
        raise Forbidden("forbidden", "Chỉ hệ thống của cơ quan khác được tra cứu dữ liệu này.")
    if not request.purpose.strip() or not request.officer.strip():
        raise InvalidInput("purpose_required", "Yêu cầu phải nêu mục đích sử dụng và cán bộ "
                           "yêu cầu.", field="purpose")
    if not request.dossier_code.strip():
        raise InvalidInput("dossier_required", "Yêu cầu phải nêu mã hồ sơ đang giải quyết.",
                           field="dossier_code")
    if not request.legal_basis.strip() and not request.consent_ref.strip():
        raise InvalidInput("legal_basis_required", "Yêu cầu phải nêu căn cứ pháp lý hoặc sự "
                           "đồng ý của công dân.", field="legal_basis")
    if request.procedure_code not in tx.agency_procedures(who.username):
        raise Forbidden("procedure_out_of_scope", "Cơ quan không được phép tra cứu dữ liệu cho "
                        "thủ tục này.")
    procedure = tx.get_procedure(request.procedure_code)
    wanted = {c.document_type for c in procedure.components} if procedure else set()
    return [item for item in today_items if item.document_type in wanted]


def _log(tx: RecordsSession, deps: AgencyDeps, who: Principal, request: AgencyRequest,
         action: str, refs: list[str]) -> None:
    tx.append_audit(AuditEvent(
        actor=who.username, action=action, object_type="person", object_id=request.owner_id,
        detail={"agency": who.display_name or who.username, "officer": request.officer,
                "purpose": request.purpose, "procedure": request.procedure_code,
                "dossier": request.dossier_code, "legal_basis": request.legal_basis,
                "consent": request.consent_ref, "documents": json.dumps(refs)}),
        at=deps.clock.now(), key=deps.audit_key)


def agency_documents(deps: AgencyDeps, who: Principal,
                     request: AgencyRequest) -> list[StoreItem]:
    owner = validate_owner_id(request.owner_id, field="owner_id")
    today = deps.clock.now().astimezone(VN_TZ).date()
    with deps.store.session() as tx:
        valid = [i for i in tx.store_items(owner) if i.reusable(today)]
        items = _allowed(tx, who, request, valid)
        _log(tx, deps, who, request, "agency.query", [i.ref for i in items])
        return items


def agency_fetch(deps: AgencyDeps, who: Principal, request: AgencyRequest, ref: str,
                 *, blob_size: int | None = None) -> FileToSend:
    owner = validate_owner_id(request.owner_id, field="owner_id")
    today = deps.clock.now().astimezone(VN_TZ).date()
    with deps.store.session() as tx:
        valid = [i for i in tx.store_items(owner) if i.reusable(today)]
        item = next((i for i in _allowed(tx, who, request, valid) if i.ref == ref), None)
        if item is None:
            raise NotFound("store_item_not_found", "Không có giấy tờ này trong phạm vi được "
                           "phép tra cứu.")
        if item.kind == "document":
            document = tx.get_document(item.ref)
            version = document.versions[-1] if document and document.versions else None
            sha = version.archival_sha256 if version else None
        else:
            result = tx.get_result(item.ref)
            sha = result.blob_sha256 if result else None
        if sha is None:
            raise NotFound("store_item_not_found", "Giấy tờ chưa có bản điện tử.")
        _log(tx, deps, who, request, "agency.fetch", [item.ref])
        return FileToSend(sha256=sha, size=blob_size or 0, media_type="application/pdf",
                          filename=f"{item.ref}.pdf")


def access_log(deps: AgencyDeps, who: Principal) -> list[AccessEntry]:
    """"Ai đã xem dữ liệu của tôi": every agency query and fetch of the citizen's data."""
    if not who.has(Role.CITIZEN) or who.owner_id is None:
        raise Forbidden("forbidden", "Chỉ công dân xem được nhật ký truy cập dữ liệu của mình.")
    with deps.store.session(readonly=True) as tx:
        entries = tx.audit_for_object("person", who.owner_id)
    found = []
    for entry in entries:
        if entry.action not in ACCESS_ACTIONS:
            continue
        detail = json.loads(entry.detail)
        found.append(AccessEntry(at=entry.at, agency=str(detail.get("agency", "")),
                                 officer=str(detail.get("officer", "")),
                                 purpose=str(detail.get("purpose", "")),
                                 procedure_code=str(detail.get("procedure", "")),
                                 documents=tuple(json.loads(detail.get("documents") or "[]")),
                                 action=entry.action))
    return list(reversed(found))
