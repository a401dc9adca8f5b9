"""Request and response schemas of the HTTP API: Create / Public pairs, never ORM rows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from records.model import DossierStatus
from records.services import DossierView

__all__ = [
    "DossierCreate",
    "DossierPublic",
    "DossierSummary",
    "ErrorBody",
    "ErrorPublic",
    "HistoryPublic",
    "TokenPublic",
    "TransitionCreate",
]


class ErrorBody(BaseModel):
    code: str = Field(examples=["transition_not_allowed"])
    message: str = Field(examples=["Không thể thực hiện «Trả kết quả» khi hồ sơ đang ở trạng "
                                   "thái «Đang xử lý»."])
    field: str | None = None


class ErrorPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "code": "dossier_not_found", "message": "Không tìm thấy hồ sơ.", "field": None}}]})

    error: ErrorBody


class TokenPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "access_token": "q3Jx0m5cS8yV2bq1tH4nW7eZ9aK6pL0dF3gR8uC1vY2",
        "token_type": "bearer", "expires_at": "2026-11-19T11:00:00Z", "username": "tiepnhan",
        "display_name": "Trần Thị Lan (cán bộ một cửa)", "roles": ["clerk"]}]})

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime
    username: str
    display_name: str
    roles: list[str]


class DossierCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "procedure_code": "1.001234.000.00.00.H40",
        "applicant_id": "022190001234",
        "applicant_name": "Nguyễn Thị Hương",
        "phone": "0912345678",
    }]})

    procedure_code: str = Field(min_length=1, max_length=40)
    applicant_id: str = Field(min_length=1, max_length=20,
                              description="12-digit personal id or 10/13-digit tax code")
    applicant_name: str = Field(min_length=1, max_length=200)
    branch_code: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=500)


class TransitionCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"transition": "assign_handler", "handler": "chuyenvien"},
        {"transition": "request_supplement", "comment": "Bổ sung bản sao giấy khai sinh."},
    ]})

    transition: str = Field(min_length=1, max_length=60)
    comment: str = Field(default="", max_length=4000)
    handler: str | None = Field(default=None, max_length=80)
    signer: str | None = Field(default=None, max_length=80)
    new_due_at: datetime | None = None


class HistoryPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: DossierStatus | None
    to_status: DossierStatus
    comment: str


class DossierSummary(BaseModel):
    code: str
    procedure_code: str
    applicant_id: str
    status: DossierStatus
    received_at: datetime | None
    due_at: datetime | None
    overdue: bool


class DossierPublic(BaseModel):
    code: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    branch_code: str
    applicant_id: str
    applicant_name: str
    status: DossierStatus
    status_label: str
    citizen_status_label: str
    national_status_code: int | None
    online: bool
    received_at: datetime | None
    due_at: datetime | None
    extended: bool
    finished_at: datetime | None
    overdue: bool
    finished_late: bool
    handler: str | None
    signer: str | None
    papers_scanned: int
    papers_reused: int
    history: list[HistoryPublic]

    @classmethod
    def of(cls, view: DossierView) -> DossierPublic:
        d = view.dossier
        return cls(
            code=d.code, procedure_code=d.procedure_code, procedure_name=view.procedure.name,
            agency_code=d.agency_code, branch_code=d.branch_code, applicant_id=d.applicant_id,
            applicant_name=view.applicant.name, status=d.status,
            status_label=view.staff_label, citizen_status_label=view.citizen_label,
            national_status_code=view.national_code, online=d.online,
            received_at=d.received_at, due_at=d.due_at, extended=d.extended_at is not None,
            finished_at=d.finished_at, overdue=view.overdue,
            finished_late=view.finished_late, handler=d.handler, signer=d.signer,
            papers_scanned=view.papers_scanned, papers_reused=view.papers_reused,
            history=[HistoryPublic(at=h.at, actor=h.actor, action=h.action,
                                   from_status=h.from_status, to_status=h.to_status,
                                   comment=h.comment) for h in view.history],
        )
