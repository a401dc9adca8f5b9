"""Health, the workflow table, procedures, and audit verification."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import AppServices, CurrentUser
from api.errors import error_response
from api.schemas import ErrorPublic
from records.services import verify_audit
from records.workflow import STATES, TRANSITIONS

router = APIRouter(tags=["system"])


class HealthPublic(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=HealthPublic, responses={503: {"model": ErrorPublic}})
def health(services: AppServices) -> HealthPublic | object:
    """Readiness probe for the load balancer: 200 when the database answers, 503 when not."""
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        return error_response(503, "database_unavailable",
                              "Cơ sở dữ liệu tạm thời không truy cập được.")
    return HealthPublic(status="ok", database="ok")


class ComponentPublic(BaseModel):
    code: str
    name: str
    document_type: str
    mandatory: bool


class ProcedurePublic(BaseModel):
    code: str
    name: str
    agency_code: str
    processing_days: int
    fee_vnd: int
    result_type: str
    components: list[ComponentPublic]


@router.get("/api/v1/procedures", response_model=list[ProcedurePublic],
            responses={401: {"model": ErrorPublic}})
def procedures(services: AppServices, who: CurrentUser) -> list[ProcedurePublic]:
    """The administrative procedures handled here: agency, processing time, fee, result,
    and the papers each requires."""
    del who
    with services.records.store.session(readonly=True) as tx:
        found = tx.list_procedures()
    return [ProcedurePublic(code=p.code, name=p.name, agency_code=p.agency_code,
                            processing_days=p.processing_days, fee_vnd=p.fee_vnd,
                            result_type=p.result_type,
                            components=[ComponentPublic(code=c.code, name=c.name,
                                                        document_type=c.document_type,
                                                        mandatory=c.mandatory)
                                        for c in p.components])
            for p in found]


class StatePublic(BaseModel):
    status: str
    national_code: int | None
    staff_label: str
    citizen_label: str
    final: bool


class TransitionPublic(BaseModel):
    name: str
    label: str
    sources: list[str | None]
    target: str | None
    roles: list[str]
    local_role: str | None
    comment_required: bool
    guards: list[str]
    effects: list[str]


class WorkflowPublic(BaseModel):
    states: list[StatePublic]
    transitions: list[TransitionPublic]


@router.get("/api/v1/workflow", response_model=WorkflowPublic)
def workflow() -> WorkflowPublic:
    """The dossier lifecycle as declared in ``records/workflow.py``: public, for auditors."""
    return WorkflowPublic(
        states=[StatePublic(status=s.status, national_code=s.national_code,
                            staff_label=s.staff_label, citizen_label=s.citizen_label,
                            final=s.final) for s in STATES.values()],
        transitions=[TransitionPublic(
            name=t.name, label=t.label,
            sources=sorted((s.value if s else None for s in t.sources), key=lambda v: v or ""),
            target=t.target.value if t.target else None, roles=sorted(t.roles),
            local_role=t.local_role.value if t.local_role else None,
            comment_required=t.comment_required, guards=[g.value for g in t.guards],
            effects=[e.value for e in t.effects]) for t in TRANSITIONS],
    )


class AuditReportPublic(BaseModel):
    intact: bool
    checked: int
    problem: str | None
    seq: int | None
    message: str


@router.get("/api/v1/audit/verify", response_model=AuditReportPublic,
            responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}})
def audit_verify(services: AppServices, who: CurrentUser) -> AuditReportPublic:
    """Check the audit log's hash chain: whether any entry was edited, deleted, reordered
    or cut off, and the first one found wrong; for auditors."""
    report = verify_audit(services.records, who)
    return AuditReportPublic(intact=report.intact, checked=report.checked,
                             problem=report.problem.value if report.problem else None,
                             seq=report.seq, message=report.message)
