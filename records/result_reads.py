"""Reading results: the queues of who signs and seals, the public verification page, and the
file for those allowed to see it, each read on the audit trail before it is answered.

Split from records.results (drafting, signing, sealing, archiving), which owns ``ResultDeps``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from records.authz import Principal, can_see
from records.errors import NotFound
from records.model import DossierStatus, Result, ResultStatus, Role
from records.results import ResultDeps, result_not_found

__all__ = [
    "PublicResult",
    "QueueEntry",
    "ResultFile",
    "open_result",
    "public_result",
    "queue",
    "queue_entries",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class PublicResult:
    result: Result
    agency_name: str


def public_result(deps: ResultDeps, code: str, digest: str) -> PublicResult:
    """A result as the public verification page shows it: only with the right digest, and
    only once sealed (a draft is nobody's business)."""
    with deps.store.session(readonly=True) as tx:
        result = tx.get_result(code)
        if (result is None or not hmac.compare_digest(result.digest, digest.strip())
                or result.status not in (ResultStatus.SEALED, ResultStatus.ISSUED)):
            raise NotFound("result_not_found", "Không tìm thấy kết quả, hoặc mã xác minh "
                           "không đúng.")
        dossier = tx.get_dossier_by_id(result.dossier_id)
        agency = tx.get_agency(dossier.agency_code) if dossier else None
    deps.audit.read("public", "result.public_check", "result", code)
    return PublicResult(result=result, agency_name=agency.name if agency else "")


def queue(deps: ResultDeps, who: Principal, stage: str) -> list[Result]:
    """What awaits ``who``: drafts to sign (signers), signed results to seal (custodians)."""
    if who.agency_code is None:
        return []
    with deps.store.session(readonly=True) as tx:
        if stage == "sign" and who.has(Role.SIGNER):
            found = tx.results_awaiting(agency_code=who.agency_code, status=ResultStatus.DRAFT,
                                        dossier_status=DossierStatus.PENDING_APPROVAL.value)
            mine = []
            for result in found:
                dossier = tx.get_dossier_by_id(result.dossier_id)
                if dossier is not None and dossier.signer in (None, who.username):
                    mine.append(result)
            return mine
        if stage == "seal" and who.has(Role.SEAL_CUSTODIAN):
            return tx.results_awaiting(agency_code=who.agency_code, status=ResultStatus.SIGNED,
                                       dossier_status=DossierStatus.SIGNED.value)
    return []


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueEntry:
    """A result in a queue, with what tells the reader whose dossier it is."""

    result: Result
    dossier_code: str
    applicant_name: str
    procedure_name: str
    due_at: datetime | None


def queue_entries(deps: ResultDeps, who: Principal, stage: str) -> list[QueueEntry]:
    """``queue`` with each result's dossier code, applicant, procedure and due date."""
    found = queue(deps, who, stage)
    entries: list[QueueEntry] = []
    with deps.store.session(readonly=True) as tx:
        for result in found:
            dossier = tx.get_dossier_by_id(result.dossier_id)
            if dossier is None or not can_see(who, dossier):
                continue
            person = tx.get_person(dossier.applicant_id)
            procedure = tx.get_procedure(dossier.procedure_code)
            entries.append(QueueEntry(
                result=result, dossier_code=dossier.code,
                applicant_name=person.name if person else dossier.applicant_id,
                procedure_name=procedure.name if procedure else dossier.procedure_code,
                due_at=dossier.due_at))
    return entries


@dataclass(frozen=True, kw_only=True, slots=True)
class ResultFile:
    result: Result
    dossier_code: str
    sha256: str


# A citizen receives the result once it is ready to hand over (status 9 and 10).
_CITIZEN_MAY_DOWNLOAD = frozenset({DossierStatus.RESULT_READY, DossierStatus.RETURNED})


def open_result(deps: ResultDeps, who: Principal, *, dossier_code: str | None = None,
                code: str | None = None, download: bool = True) -> ResultFile:
    """The result's current file (or, with ``download`` False, its facts), for someone
    allowed to see it; the access is logged as what it was."""
    with deps.store.session(readonly=True) as tx:
        result = tx.get_result(code) if code else None
        if dossier_code is not None:
            dossier = tx.get_dossier(dossier_code)
            result = tx.result_of_dossier(dossier.id) if dossier else None
        else:
            dossier = tx.get_dossier_by_id(result.dossier_id) if result else None
    if result is None or dossier is None or not can_see(who, dossier):
        raise result_not_found()
    staff = who.roles - {Role.CITIZEN}
    if not staff and dossier.status not in _CITIZEN_MAY_DOWNLOAD:
        raise result_not_found()
    deps.audit.read(who.username, "result.download" if download else "result.view", "result",
                    result.code, sha256=result.blob_sha256)
    return ResultFile(result=result, dossier_code=dossier.code, sha256=result.blob_sha256)
