"""Pages of the signer and the seal custodian: their queues, the result's preview, and
batches signed (or sealed) in a background thread while the page shows how far they got.

Order is law [Decree 30/2020 Art. 32-33]: the official signs first with a personal
certificate, then the seal custodian applies the agency's certificate (the second seal) and
sends the result to the one-stop desk. Each result of a batch is its own step of the use
case: one refusal leaves the others as they are, and every attempt is audited there.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages.handling_steps import RESULT_STATUS, DossierCode, may, require_role
from api.pages.web import CsrfChecked, PageServices, PageUser, redirect, render
from records.authz import Principal
from records.errors import DomainError, NotFound
from records.lifecycle import TransitionRequest
from records.model import DossierStatus as S
from records.model import Role
from records.result_reads import open_result, queue_entries
from records.results import BatchItem, ResultDeps, seal_results, sign_results
from records.services import get_dossier, list_dossiers, transition_dossier

__all__ = ["BATCHES", "SEAL", "SIGN", "BatchRegistry", "Progress", "Stage", "router"]

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Codes = Annotated[list[str] | None, Form(max_length=200)]
# A wrong PIN or passphrase: the batch stops, and the message goes next to the PIN field.
_PIN_ERRORS = frozenset({"passphrase_incorrect", "pin_incorrect"})


# -- the result: preview, file ------------------------------------------------------------------
@router.get("/ho-so/{code}/xem-ket-qua")
def result_page(request: Request, services: PageServices, who: PageUser,
                code: DossierCode) -> Response:
    found = open_result(services.results, who, dossier_code=code, download=False)
    view = get_dossier(services.records, who, code)
    return render(request, "pages/handling/result.html", {
        "dossier": view, "result": found.result, "result_status": RESULT_STATUS,
        "may_sign": who.has(Role.SIGNER) and may(who, view, "sign"),
        "may_seal": who.has(Role.SEAL_CUSTODIAN) and may(who, view, "seal"),
        "may_return": may(who, view, "return_for_revision")}, user=who)


@router.get("/ho-so/{code}/ket-qua.pdf")
def result_file(services: PageServices, who: PageUser, code: DossierCode) -> Response:
    found = open_result(services.results, who, dossier_code=code)
    return Response(services.blobs.get(found.sha256), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'inline; filename="{found.result.code}.pdf"',
                             "Cache-Control": "private, no-store"})


# -- signing and sealing in batches -------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class Stage:
    """A queue: who works it, and the use case it runs on each result."""

    name: str
    path: str
    role: Role
    refused: str
    verb: str  # "ký số" / "đóng dấu số"
    run: Callable[[ResultDeps, Principal, Sequence[str], str | None], list[BatchItem]]


SIGN = Stage(name="sign", path="/ky-so", role=Role.SIGNER, verb="ký số",
             refused="Trang này dành cho lãnh đạo có thẩm quyền ký kết quả.",
             run=lambda deps, who, codes, pin: sign_results(deps, who, codes, secret=pin))
SEAL = Stage(name="seal", path="/dong-dau", role=Role.SEAL_CUSTODIAN, verb="đóng dấu số",
             refused="Trang này dành cho văn thư được giao quản lý con dấu thứ hai.",
             run=lambda deps, who, codes, pin: seal_results(deps, who, codes, secret=pin))


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """What a batch has done so far, as one consistent snapshot."""

    id: str
    stage: str
    total: int
    items: tuple[BatchItem, ...]
    dossiers: dict[str, str]  # result code -> dossier code
    done: bool

    @property
    def ok(self) -> int:
        return sum(item.ok for item in self.items)

    @property
    def percent(self) -> int:
        return round(100 * len(self.items) / self.total) if self.total else 100


@dataclass(kw_only=True)
class _Batch:
    id: str
    owner: str
    stage: Stage
    codes: tuple[str, ...]
    dossiers: dict[str, str]
    items: list[BatchItem] = field(default_factory=list)
    done: bool = False
    started: float = field(default_factory=time.monotonic)


class BatchRegistry:
    """Batches running or recently finished in this process, each visible to its owner.

    The progress lives in memory: it is a view of the work, while each signature and each
    refusal is recorded durably (result, history, audit) by the use case as it happens. A
    restart loses only the progress page, never a signature.
    """

    KEEP_SECONDS = 3600.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[str, _Batch] = {}

    def start(self, *, owner: str, stage: Stage, codes: Sequence[str],
              dossiers: dict[str, str], done: Sequence[BatchItem]) -> _Batch:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, b in self._batches.items()
                        if b.done and now - b.started > self.KEEP_SECONDS]:
                del self._batches[key]
            batch = _Batch(id=secrets.token_urlsafe(12), owner=owner, stage=stage,
                           codes=tuple(codes), dossiers=dossiers, items=list(done),
                           done=len(done) == len(codes))
            self._batches[batch.id] = batch
        return batch

    def record(self, batch: _Batch, item: BatchItem) -> None:
        with self._lock:
            batch.items.append(item)

    def finish(self, batch: _Batch) -> None:
        with self._lock:
            batch.done = True

    def progress(self, batch_id: str, owner: str, stage: Stage) -> Progress:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None or batch.owner != owner or batch.stage is not stage:
                raise NotFound("batch_not_found", "Không tìm thấy lượt xử lý này (có thể đã "
                               "hết hạn hiển thị). Kết quả từng văn bản vẫn được lưu.")
            return Progress(id=batch.id, stage=stage.name, total=len(batch.codes),
                            items=tuple(batch.items), dossiers=dict(batch.dossiers),
                            done=batch.done)


BATCHES = BatchRegistry()


def _run_rest(services: Services, who: Principal, batch: _Batch, pin: str) -> None:
    """The rest of a batch, one result at a time, in a thread of its own."""
    try:
        for code in batch.codes[len(batch.items):]:
            item = batch.stage.run(services.results, who, [code], pin)[0]
            BATCHES.record(batch, item)
            if item.error_code in _PIN_ERRORS:  # the same PIN would fail on every result
                for rest in batch.codes[len(batch.items):]:
                    BATCHES.record(batch, BatchItem(code=rest, ok=False,
                                                    error_code="not_attempted",
                                                    message="Chưa xử lý: " + (item.message
                                                                              or "")))
                break
    except Exception:  # a fault must end the batch, not leave it "running" forever
        log.exception("batch %s of %s failed", batch.id, who.username)
        for rest in batch.codes[len(batch.items):]:
            BATCHES.record(batch, BatchItem(code=rest, ok=False, error_code="internal_error",
                                            message="Lỗi hệ thống, chưa xử lý được. Vui lòng "
                                                    "thử lại."))
    finally:
        BATCHES.finish(batch)


def _queue_page(request: Request, services: Services, who: Principal, stage: Stage, *,
                form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Response:
    entries = queue_entries(services.results, who, stage.name)
    sealed = []
    if stage is SEAL:
        sealed = [get_dossier(services.records, who, d.code) for d, _ in list_dossiers(
            services.records, who, statuses=frozenset({S.SEALED}), limit=200)]
    return render(request, "pages/handling/queue.html", {
        "stage": stage, "entries": entries, "sealed": sealed,
        "form": form or {"codes": []}, "errors": errors or {}}, user=who, status_code=status)


def _start(request: Request, services: Services, who: Principal, stage: Stage,
           codes: list[str] | None, pin: str) -> Response:
    """The queue's form posted: sign (or seal) the results chosen, with the PIN given."""
    require_role(who, stage.role, stage.refused)
    chosen = list(dict.fromkeys(c for c in codes or [] if c))
    errors: dict[str, str] = {}
    if not chosen:
        errors["codes"] = f"Vui lòng chọn ít nhất một kết quả để {stage.verb}."
    if not pin:
        errors["pin"] = "Vui lòng nhập mã PIN (mật khẩu) của chứng thư số."
    if errors:
        return _queue_page(request, services, who, stage, form={"codes": chosen},
                           errors=errors, status=422)
    dossiers = {e.result.code: e.dossier_code for e in queue_entries(services.results, who,
                                                                     stage.name)}
    # Until the key has been used once, work here: a wrong PIN is told next to its field,
    # and nothing is signed. The rest runs in the background, the page shows its progress.
    done: list[BatchItem] = []
    for code in chosen:
        item = stage.run(services.results, who, [code], pin)[0]
        if item.error_code in _PIN_ERRORS:
            return _queue_page(request, services, who, stage, form={"codes": chosen},
                               errors={"pin": item.message or ""}, status=422)
        done.append(item)
        if item.ok:
            break
    batch = BATCHES.start(owner=who.username, stage=stage, codes=chosen, dossiers=dossiers,
                          done=done)
    if not batch.done:
        threading.Thread(target=_run_rest, args=(services, who, batch, pin),
                         name=f"batch-{stage.name}-{batch.id}", daemon=True).start()
    return redirect(request, f"{stage.path}/lo/{batch.id}")


def _batch_page(request: Request, who: Principal, stage: Stage, batch_id: str,
                fragment: bool) -> Response:
    progress = BATCHES.progress(batch_id, who.username, stage)
    template = "_batch_progress.html" if fragment else "batch.html"
    return render(request, f"pages/handling/{template}",
                  {"stage": stage, "progress": progress}, user=who)


BatchId = Annotated[str, PathParam(min_length=8, max_length=40, pattern=r"^[\w-]+$")]


@router.get("/ky-so")
def sign_queue(request: Request, services: PageServices, who: PageUser) -> Response:
    require_role(who, SIGN.role, SIGN.refused)
    return _queue_page(request, services, who, SIGN)


@router.post("/ky-so", dependencies=[CsrfChecked])
def sign_batch(request: Request, services: PageServices, who: PageUser, codes: Codes = None,
               pin: Annotated[str, Form(max_length=128)] = "") -> Response:
    return _start(request, services, who, SIGN, codes, pin)


@router.get("/ky-so/lo/{batch_id}")
def sign_progress(request: Request, who: PageUser, batch_id: BatchId) -> Response:
    return _batch_page(request, who, SIGN, batch_id, fragment=False)


@router.get("/ky-so/lo/{batch_id}/tien-do")
def sign_progress_fragment(request: Request, who: PageUser, batch_id: BatchId) -> Response:
    return _batch_page(request, who, SIGN, batch_id, fragment=True)


@router.get("/dong-dau")
def seal_queue(request: Request, services: PageServices, who: PageUser) -> Response:
    require_role(who, SEAL.role, SEAL.refused)
    return _queue_page(request, services, who, SEAL)


@router.post("/dong-dau", dependencies=[CsrfChecked])
def seal_batch(request: Request, services: PageServices, who: PageUser, codes: Codes = None,
               pin: Annotated[str, Form(max_length=128)] = "") -> Response:
    return _start(request, services, who, SEAL, codes, pin)


@router.get("/dong-dau/lo/{batch_id}")
def seal_progress(request: Request, who: PageUser, batch_id: BatchId) -> Response:
    return _batch_page(request, who, SEAL, batch_id, fragment=False)


@router.get("/dong-dau/lo/{batch_id}/tien-do")
def seal_progress_fragment(request: Request, who: PageUser, batch_id: BatchId) -> Response:
    return _batch_page(request, who, SEAL, batch_id, fragment=True)


def _publish(services: Services, who: Principal, codes: Sequence[str]) -> tuple[int, list[str]]:
    moved, failed = 0, []
    for code in codes:
        try:
            transition_dossier(services.records, who, code,
                               TransitionRequest(name="publish_result"))
            moved += 1
        except DomainError as exc:
            failed.append(f"{code}: {exc.message}")
    return moved, failed


def _published_flash(moved: int, failed: list[str]) -> str:
    text = f"Đã chuyển {moved} kết quả về bộ phận một cửa để trả cho người nộp hồ sơ."
    return text + (" Không chuyển được " + "; ".join(failed) if failed else "")


@router.post("/dong-dau/chuyen-mot-cua", dependencies=[CsrfChecked])
def publish_batch(request: Request, services: PageServices, who: PageUser,
                  dossiers: Codes = None) -> Response:
    require_role(who, SEAL.role, SEAL.refused)
    if not dossiers:
        return _queue_page(request, services, who, SEAL, errors={
            "dossiers": "Vui lòng chọn ít nhất một hồ sơ để chuyển."}, status=422)
    moved, failed = _publish(services, who, list(dict.fromkeys(dossiers)))
    return redirect(request, SEAL.path, flash=_published_flash(moved, failed))


@router.post("/ho-so/{code}/chuyen-mot-cua", dependencies=[CsrfChecked])
def publish_one(request: Request, services: PageServices, who: PageUser,
                code: DossierCode) -> Response:
    transition_dossier(services.records, who, code, TransitionRequest(name="publish_result"))
    return redirect(request, f"/ho-so/{code}", flash=_published_flash(1, []))
