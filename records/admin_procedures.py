"""Administration of procedures and the papers each requires (thành phần hồ sơ), as the
national catalogue of administrative procedures lists them. Administrators only; see
``records.admin`` for what every administration use case promises."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from records.admin import AdminDeps, InvalidFields, audit, check, code_field, text_field
from records.audit import JsonValue
from records.authz import Action, Principal, authorize
from records.errors import Conflict, NotFound
from records.model import Procedure, RequiredComponent
from records.repository import RecordsSession

__all__ = [
    "ComponentDraft",
    "ProcedureDraft",
    "create_procedure",
    "get_procedure",
    "list_procedures",
    "update_procedure",
]

_PROCEDURE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}")  # 1.012736.000.00.00.H40
_COMPONENT_CODE = re.compile(r"[A-Z0-9_]{1,40}")
_DOCUMENT_TYPE = re.compile(r"[a-z0-9_]{1,80}")
_AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})+|\d+")  # 100000, 100.000 or 100,000 đồng


@dataclass(frozen=True, kw_only=True, slots=True)
class ComponentDraft:
    """One row of the required papers as typed; a row left entirely blank is skipped."""

    code: str = ""
    name: str = ""
    document_type: str = ""
    mandatory: bool = True
    order: str = ""

    @property
    def blank(self) -> bool:
        return not (self.code.strip() or self.name.strip() or self.document_type.strip())


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcedureDraft:
    code: str = ""
    name: str = ""
    agency_code: str = ""
    processing_days: str = ""
    fee_vnd: str = ""
    result_type: str = ""
    components: tuple[ComponentDraft, ...] = ()


def _whole_number(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _amount(value: str) -> int | None:
    text = value.strip()
    return int(text.replace(".", "").replace(",", "")) if _AMOUNT.fullmatch(text) else None


def _components(rows: Sequence[ComponentDraft],
                problems: dict[str, str]) -> tuple[RequiredComponent, ...]:
    ordered: list[tuple[int, int, RequiredComponent]] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        if row.blank:
            continue
        key = f"components.{index}"
        code = code_field(row.code, _COMPONENT_CODE, problems, f"{key}.code", "Mã giấy tờ chỉ "
                          "gồm chữ in hoa không dấu, số và gạch dưới (ví dụ CCCD).")
        if code and code in seen:
            problems[f"{key}.code"] = f"Mã giấy tờ «{code}» bị trùng trong thủ tục."
        seen.add(code)
        name = text_field(row.name, f"{key}.name", "tên giấy tờ", problems, max_length=500)
        doc_type = row.document_type.strip()
        if not _DOCUMENT_TYPE.fullmatch(doc_type):
            problems[f"{key}.document_type"] = ("Loại giấy tờ chỉ gồm chữ thường không dấu, số "
                                                "và gạch dưới (ví dụ can_cuoc_cong_dan).")
        order = _whole_number(row.order) if row.order.strip() else index + 1
        if order is None:
            problems[f"{key}.order"] = "Thứ tự phải là số nguyên không âm."
            order = index + 1
        ordered.append((order, index, RequiredComponent(
            code=code, name=name, document_type=doc_type, mandatory=row.mandatory)))
    return tuple(component for *_, component in sorted(ordered, key=lambda t: t[:2]))


def _procedure(tx: RecordsSession, draft: ProcedureDraft, code: str) -> Procedure:
    problems: dict[str, str] = {}
    name = text_field(draft.name, "name", "tên thủ tục", problems, max_length=500)
    agency = draft.agency_code.strip()
    if not agency or tx.get_agency(agency) is None:
        problems["agency_code"] = "Vui lòng chọn cơ quan giải quyết thủ tục."
    days = _whole_number(draft.processing_days)
    if days is None or not 1 <= days <= 365:
        problems["processing_days"] = ("Thời hạn giải quyết phải là số nguyên dương (số ngày "
                                       "làm việc, tối đa 365).")
    fee = _amount(draft.fee_vnd) if draft.fee_vnd.strip() else 0
    if fee is None:
        problems["fee_vnd"] = "Lệ phí phải là số tiền nguyên không âm, tính bằng đồng."
    result_type = text_field(draft.result_type, "result_type", "loại kết quả", problems,
                             max_length=200, required=False)
    components = _components(draft.components, problems)
    check(problems)
    return Procedure(code=code, name=name, agency_code=agency, processing_days=days or 0,
                     fee_vnd=fee or 0, result_type=result_type, components=components)


def _procedure_detail(procedure: Procedure) -> dict[str, JsonValue]:
    return {"name": procedure.name, "agency": procedure.agency_code,
            "processing_days": procedure.processing_days, "fee_vnd": procedure.fee_vnd,
            "components": ",".join(c.code for c in procedure.components)}


def list_procedures(deps: AdminDeps, who: Principal) -> list[Procedure]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_procedures()


def _existing(tx: RecordsSession, code: str) -> Procedure:
    found = tx.get_procedure(code)
    if found is None:
        raise NotFound("procedure_not_found", "Không có thủ tục hành chính này.")
    return found


def get_procedure(deps: AdminDeps, who: Principal, code: str) -> Procedure:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return _existing(tx, code)


def create_procedure(deps: AdminDeps, who: Principal, draft: ProcedureDraft) -> Procedure:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    code = code_field(draft.code, _PROCEDURE_CODE, problems, "code", "Mã thủ tục chỉ gồm chữ, "
                      "số, dấu chấm và gạch ngang (ví dụ 1.001193.000.00.00.H40).")
    with deps.store.session() as tx:
        try:
            procedure = _procedure(tx, draft, code)
        except InvalidFields as exc:
            raise InvalidFields({**problems, **exc.fields}) from None
        check(problems)
        if tx.get_procedure(code) is not None:
            raise Conflict("duplicate_procedure", f"Mã thủ tục «{code}» đã tồn tại.",
                           field="code")
        tx.add_procedure(procedure)
        audit(tx, deps, who, "procedure.create", "procedure", code,
              _procedure_detail(procedure))
    return procedure


def update_procedure(deps: AdminDeps, who: Principal, code: str,
                     draft: ProcedureDraft) -> Procedure:
    """Change a procedure; its code stays, since dossiers carry it. Dossiers already
    received keep the due date they were given."""
    authorize(who, Action.ADMINISTER)
    with deps.store.session() as tx:
        _existing(tx, code)
        procedure = _procedure(tx, draft, code)
        tx.replace_procedure(procedure)
        audit(tx, deps, who, "procedure.update", "procedure", code,
              _procedure_detail(procedure))
    return procedure

