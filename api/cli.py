"""The ``motcua`` command line: set-up, dossiers, documents, audit, search and the demo; the
commands that run the service (serve, worker, scheduler, check, ...) are in api.cli_ops."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import make_url

from api.bootstrap import Services, bootstrap
from api.settings import Settings
from records.accounts import principal_of
from records.authz import Principal
from records.documents import DocumentView
from records.errors import DomainError
from records.lifecycle import TransitionRequest
from records.model import Role
from records.services import (
    CreateDossier,
    DossierView,
    create_dossier,
    get_dossier,
    transition_dossier,
    verify_audit,
)

app = typer.Typer(help="Motcua: hồ sơ điện tử và chữ ký số cho bộ phận một cửa.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
dossier_app = typer.Typer(help="Dossiers (hồ sơ).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(dossier_app, name="dossier")
app.add_typer(audit_app, name="audit")
document_app = typer.Typer(help="Documents (tài liệu số hóa).", no_args_is_help=True)
archive_app = typer.Typer(help="Long-term archive of sealed results.", no_args_is_help=True)
app.add_typer(archive_app, name="archive")
app.add_typer(document_app, name="document")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsUser = Annotated[str, typer.Option("--as", help="Act as this user (an operator's tool: "
                                                  "the machine's operator is trusted).")]

# The identity of commands an operator runs on the server itself.
OPERATOR = Principal(username="operator", roles=frozenset({Role.ADMIN}),
                     display_name="Vận hành hệ thống")


def _services() -> Services:
    return bootstrap(Settings())


def _fail(exc: DomainError, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": {"code": exc.code, "message": exc.message,
                                         "field": exc.field}}, ensure_ascii=False))
    else:
        typer.echo(f"Lỗi: {exc.message}", err=True)
    raise typer.Exit(code=2)


def _emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default))
    else:
        typer.echo(text)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _acting(services: Services, as_user: str | None) -> Principal:
    """Who a command acts as: the named user, or the operator."""
    return _principal(services, as_user) if as_user else OPERATOR


def _principal(services: Services, username: str) -> Principal:
    with services.records.store.session(readonly=True) as tx:
        user = tx.get_user(username)
    if user is None:
        typer.echo(f"Lỗi: không có người dùng «{username}».", err=True)
        raise typer.Exit(code=2)
    return principal_of(user)


def dossier_payload(view: DossierView) -> dict[str, Any]:
    d = view.dossier
    return {
        "code": d.code, "procedure_code": d.procedure_code,
        "procedure_name": view.procedure.name, "applicant_id": d.applicant_id,
        "applicant_name": view.applicant.name, "status": d.status.value,
        "status_label": view.staff_label, "national_status_code": view.national_code,
        "received_at": d.received_at, "due_at": d.due_at, "overdue": view.overdue,
        "handler": d.handler, "signer": d.signer,
        "history": [{"at": h.at, "actor": h.actor, "action": h.action,
                     "from": h.from_status.value if h.from_status else None,
                     "to": h.to_status.value, "comment": h.comment} for h in view.history],
    }


def _dossier_text(view: DossierView) -> str:
    d = view.dossier
    lines = [f"{d.code}  {view.staff_label}{'  (QUÁ HẠN)' if view.overdue else ''}",
             f"  Thủ tục: {view.procedure.name}",
             f"  Người nộp: {view.applicant.name} ({d.applicant_id})",
             f"  Hẹn trả: {d.due_at.isoformat() if d.due_at else '-'}"]
    lines += [f"  {h.at.isoformat(timespec='seconds')}  {h.actor:<12} {h.action}"
              f"{'  — ' + h.comment if h.comment else ''}" for h in view.history]
    return "\n".join(lines)


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo data.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create or upgrade the database (and the data directory)."""
    from api.demo import seed_demo, seed_history

    services = _services()
    url = make_url(services.settings.resolved_database_url)
    payload: dict[str, Any] = {"database": url.render_as_string(hide_password=True),
                               "data_dir": str(services.settings.data_dir.resolve())}
    if demo:
        payload["demo"] = seed_demo(services)
        if services.settings.demo_history_dossiers:  # months of past dossiers, for statistics
            payload["history"] = seed_history(
                services, dossiers=services.settings.demo_history_dossiers)
    _emit(payload, as_json, f"Cơ sở dữ liệu sẵn sàng: {payload['database']}")


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Prove the audit chain intact, or name the first entry that was tampered with."""
    report = verify_audit(_services().records, OPERATOR)
    payload = {"intact": report.intact, "checked": report.checked,
               "problem": report.problem.value if report.problem else None,
               "seq": report.seq, "message": report.message}
    text = (f"Nhật ký toàn vẹn: đã kiểm tra {report.checked} bản ghi." if report.intact else
            f"NHẬT KÝ BỊ THAY ĐỔI tại bản ghi {report.seq}: {report.message}")
    _emit(payload, as_json, text)
    if not report.intact:
        raise typer.Exit(code=1)


@dossier_app.command("create")
def dossier_create(
    procedure: Annotated[str, typer.Option(help="Procedure code.")],
    applicant_id: Annotated[str, typer.Option(help="12-digit personal id or tax code.")],
    applicant_name: Annotated[str, typer.Option(help="Applicant's full name.")],
    as_user: AsUser,
    branch: Annotated[str | None, typer.Option(help="Receiving branch code.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a dossier for a citizen and a procedure."""
    services = _services()
    who = _principal(services, as_user)
    try:
        view = create_dossier(services.records, who, CreateDossier(
            procedure_code=procedure, applicant_id=applicant_id,
            applicant_name=applicant_name, branch_code=branch))
    except DomainError as exc:
        _fail(exc, as_json)
    _emit(dossier_payload(view), as_json, _dossier_text(view))


@dossier_app.command("show")
def dossier_show(
    code: str,
    as_user: Annotated[str | None, typer.Option("--as", help="View as this user.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a dossier and its history."""
    services = _services()
    who = _acting(services, as_user)
    try:
        view = get_dossier(services.records, who, code)
    except DomainError as exc:
        _fail(exc, as_json)
    _emit(dossier_payload(view), as_json, _dossier_text(view))


@dossier_app.command("transition")
def dossier_transition(
    code: str,
    name: Annotated[str, typer.Argument(help="Transition name, e.g. assign_handler.")],
    as_user: AsUser,
    comment: Annotated[str, typer.Option(help="Reason or content.")] = "",
    handler: Annotated[str | None, typer.Option(help="Handler to assign.")] = None,
    signer: Annotated[str | None, typer.Option(help="Signer to assign.")] = None,
    new_due: Annotated[datetime | None, typer.Option(
        help="New due time for an extension (ISO 8601 with offset).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a dossier through the workflow."""
    services = _services()
    who = _principal(services, as_user)
    try:
        if new_due is not None and new_due.tzinfo is None:
            raise DomainError("invalid_new_due_date", "Ngày hẹn trả mới phải có múi giờ "
                              "(ví dụ 2026-12-01T17:00:00+07:00).", field="new_due")
        view = transition_dossier(services.records, who, code, TransitionRequest(
            name=name, comment=comment, handler=handler, signer=signer, new_due_at=new_due))
    except DomainError as exc:
        _fail(exc, as_json)
    _emit(dossier_payload(view), as_json, _dossier_text(view))


@app.command()
def demo(
    scans: Annotated[Path | None, typer.Option(
        "--scans", help="A folder of page images (PNG, JPEG, TIFF) or PDFs to use as the "
                        "citizen's papers; sample pages otherwise.", exists=True,
        file_okay=False)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the whole flow once on the configured (by default embedded) installation."""
    from api.demo import run_demo

    services = _services()
    found = sorted(p for p in scans.iterdir() if p.is_file()) if scans else None
    try:
        summary = run_demo(services, found)
    except DomainError as exc:
        _fail(exc, as_json)
    _emit(summary, as_json, json.dumps(summary, ensure_ascii=False, indent=2,
                                       default=_json_default))


def main() -> None:  # pragma: no cover - the console script
    sys.exit(app())


@app.command()
def ocr(
    inputs: Annotated[list[Path], typer.Argument(help="Scans in page order: PDF, JPEG, PNG, "
                                                      "TIFF.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="The two-layer PDF/A to write.")],
    text: Annotated[Path | None, typer.Option("--text", help="Also write the text here.")
                    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make one searchable two-layer PDF/A from the inputs (no database involved)."""
    from ocr_pipeline.cli import ocr_command

    raise typer.Exit(code=ocr_command(list(inputs), out, text, as_json))


def _document_payload(view: DocumentView) -> dict[str, Any]:
    v = view.version
    return {"document_id": view.version_id, "doc_code": view.document.doc_code,
            "component": view.document.component_code, "status": v.status.value,
            "pages": v.page_count, "mean_confidence": v.ocr_confidence,
            "pages_to_review": [p.number for p in view.pages if p.needs_review],
            "job": view.job.state.value if view.job else None,
            "failure": v.failure, "text": "\f".join(p.text for p in view.pages)}


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="One file per paper, in the order of "
                                                     "the procedure's components.",
                                                exists=True, dir_okay=False)],
    procedure: Annotated[str, typer.Option(help="Procedure code.")],
    applicant_id: Annotated[str, typer.Option(help="12-digit personal id or tax code.")],
    applicant_name: Annotated[str, typer.Option(help="Applicant's full name.")],
    branch: Annotated[str | None, typer.Option(help="Receiving branch (default: the "
                                                    "first).")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user (default: "
                                                             "the operator).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until OCR has finished.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 3600.0,
    as_json: JsonFlag = False,
) -> None:
    """Create a dossier, add each file as a paper, and digitise them."""
    from records.documents import Upload, add_document, get_document

    services = _services()
    who = _acting(services, as_user)
    with services.records.store.session(readonly=True) as tx:
        branch = branch or who.branch_code or next(
            (b.code for b in tx.list_branches()), None)
        found = tx.get_procedure(procedure)
    try:
        view = create_dossier(services.records, who, CreateDossier(
            procedure_code=procedure, applicant_id=applicant_id,
            applicant_name=applicant_name, branch_code=branch))
        components = found.components if found else ()
        documents = []
        for n, path in enumerate(files):
            component = components[min(n, len(components) - 1)].code if components else ""
            documents.append(add_document(services.documents, who, view.dossier.code,
                                          component, [Upload(path=path, filename=path.name)]))
    except DomainError as exc:
        _fail(exc, as_json)
    job_ids = [d.job.id for d in documents if d.job]
    if wait:
        services.finish_jobs(job_ids, timeout=timeout)
    shown = [get_document(services.documents, who, d.document.doc_code) for d in documents]
    payload = {"dossier_code": view.dossier.code,
               "documents": [_document_payload(d) for d in shown]}
    _emit(payload, as_json, "\n".join(
        [f"Hồ sơ {view.dossier.code}"] +
        [f"  {d.version_id}  {d.version.status.value}  {d.version.page_count or '?'} trang"
         for d in shown]))



@document_app.command("show")
def document_show(
    doc_code: str,
    as_user: Annotated[str | None, typer.Option("--as", help="View as this user.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a document: status, digitisation progress, pages to review, text."""
    from records.documents import get_document

    services = _services()
    who = _acting(services, as_user)
    try:
        view = get_document(services.documents, who, doc_code)
    except DomainError as exc:
        _fail(exc, as_json)
    payload = _document_payload(view)
    job = view.job
    payload["progress"] = {"pages_done": job.progress_done, "pages_total": job.progress_total,
                           "attempts": job.attempts, "last_error": job.last_error} if job else None
    progress = f"{job.progress_done}/{job.progress_total} trang" if job else "-"
    _emit(payload, as_json, f"{view.version_id}  {view.version.status.value}  {progress}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="A signed PDF.", exists=True, dir_okay=False)],
    as_json: JsonFlag = False,
) -> None:
    """Verify every signature of a PDF: signer, organisation, time, integrity, PAdES level,
    and the ETSI EN 319 102-1 indication. Exit 0 only when all pass."""
    from api.verification import report_payload
    from signing import VerificationOutcome, verify_pdf

    services = _services()
    report = verify_pdf(file.read_bytes(), validation=services.trust.validation())
    payload = report_payload(report)
    lines = [report.message]
    for s in payload["signatures"]:
        lines.append(f"- {s['signer']} ({s['organisation']}): {s['label']}; ký lúc "
                     f"{s['signing_time']}; {s['level'] or 'không phải PAdES'}; "
                     f"{s['changes_after_label'] or ''}")
    _emit(payload, as_json, "\n".join(lines))
    if report.outcome is not VerificationOutcome.ALL_PASSED:
        raise typer.Exit(code=1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words, with or without diacritics.")] = "",
    owner: Annotated[str | None, typer.Option(help="Only this owner's papers.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Search digitised papers and results (as the operator: everything)."""
    from records.indexing import publish_outbox
    from records.indexing import search as search_index
    from records.ports import SearchQuery

    services = _services()
    publish_outbox(services.search)  # what was committed is searchable before we look
    try:
        page = search_index(services.search, OPERATOR, SearchQuery(text=query, owner_id=owner,
                                                                   limit=limit))
    except DomainError as exc:
        _fail(exc, as_json)
    payload = {"total": page.total, "hits": [{
        "doc_id": h.doc_id, "kind": h.document.kind, "dossier_code": h.document.dossier_code,
        "owner_id": h.document.owner_id, "document_type": h.document.document_type,
        "title": h.document.title, "score": round(h.score, 3), "snippet": h.snippet,
    } for h in page.hits]}
    _emit(payload, as_json, "\n".join(
        [f"{page.total} kết quả"] + [f"- {h.document.dossier_code}  {h.document.title}: "
                                     f"{h.snippet}" for h in page.hits]))


# The operator's commands register themselves on ``app`` (kept apart: running the service
# is a different reader's concern from working with dossiers).
from api import cli_ops  # noqa: E402, F401
