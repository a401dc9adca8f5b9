"""Use cases on e-results: draft, sign (one or a batch), seal with the second seal, read.

Order is law [Decree 30/2020 Art. 32-33; DOMAIN.md]: the competent official signs first with
a personal certificate, then the seal custodian applies the agency's organisational
certificate, only to results the official has signed. Each result of a batch is signed in
its own step: one failure leaves the others as they are, and every attempt is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta

from records.audit import AuditEvent
from records.audit_writer import AuditWriter
from records.authz import Action, Principal, authorize, can_see
from records.blob_staging import StagedBlob, StagingDeps, settle, staged
from records.calendar import VN_TZ, WorkingCalendar
from records.datastore import on_result_sealed
from records.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from records.lifecycle import Policy, TransitionOutcome, TransitionRequest, apply_transition
from records.model import (
    CertificateKind,
    CertificateRecord,
    Dossier,
    Result,
    ResultStatus,
    Role,
)
from records.ports import BlobRef, BlobStore, Clock, DraftInput, ResultRenderer, SigningPort
from records.repository import RecordsSession, RecordsStore

__all__ = [
    "ArchiveExtension",
    "BatchItem",
    "DraftRequest",
    "Letterhead",
    "ResultDeps",
    "SignerChoice",
    "draft_result",
    "extend_archives",
    "letterhead",
    "result_code",
    "result_not_found",
    "seal_results",
    "sign_results",
    "signer_choices",
    "verification_digest",
]


@dataclass(frozen=True, kw_only=True)
class ResultDeps:
    store: RecordsStore
    clock: Clock
    audit_key: bytes
    audit: AuditWriter  # records of reads (downloads, public checks), group-committed
    blobs: BlobStore
    renderer: ResultRenderer
    signing: SigningPort
    digest_key: bytes
    public_base_url: str
    place: str = "Quảng Ninh"  # the province: the place line and the parent authority
    retention: timedelta = timedelta(days=365 * 10)


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftRequest:
    subject: str
    body: tuple[str, ...]
    recipients: tuple[str, ...] = ("Như trên;", "Lưu: VT.")
    signer: str | None = None  # defaults to the dossier's assigned signer
    signer_title_lines: tuple[str, ...] = ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchItem:
    """How one result of a batch ended."""

    code: str
    ok: bool
    error_code: str | None = None
    message: str | None = None


def result_not_found() -> NotFound:
    return NotFound("result_not_found", "Không tìm thấy kết quả giải quyết.")


def result_code(agency_code: str, year: int, seq: int) -> str:
    """The e-result code printed on the result and in its QR code. No official format was
    found (DOMAIN.md "Codes"): ``KQ-{agency e-ID}-{YYYY}-{NNNNNN}``, unique per agency and
    year, read aloud easily at the counter."""
    return f"KQ-{agency_code}-{year}-{seq:06d}"


def verification_digest(key: bytes, code: str, content_sha256: str) -> str:
    """A keyed digest binding the code to the draft's content: whoever holds a paper copy
    can check it publicly, and codes cannot be enumerated without it."""
    mac = hmac.new(key, f"{code}\n{content_sha256}".encode(), hashlib.sha256).hexdigest()
    return mac[:20]


def _content_sha256(draft: DraftInput) -> str:
    fields = asdict(draft)
    fields.pop("verification_url")  # the QR carries the digest: it cannot be hashed into it
    fields["issue_date"] = draft.issue_date.isoformat()
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, sort_keys=True)
                          .encode("utf-8")).hexdigest()


def _audit(tx: RecordsSession, deps: ResultDeps, actor: str, action: str, code: str,
           **detail: str | int | None) -> None:
    tx.append_audit(AuditEvent(actor=actor, action=action, object_type="result",
                               object_id=code, detail=detail),
                    at=deps.clock.now(), key=deps.audit_key)




def _visible(tx: RecordsSession, who: Principal, dossier_code: str) -> Dossier:
    dossier = tx.get_dossier(dossier_code)
    if dossier is None or not can_see(who, dossier):
        raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
    return dossier


def draft_result(deps: ResultDeps, who: Principal, dossier_code: str,
                 request: DraftRequest) -> Result:
    """Render the result from its template, number it, and keep the draft."""
    if not request.subject.strip() or not any(p.strip() for p in request.body):
        raise InvalidInput("empty_draft", "Vui lòng nhập trích yếu và nội dung kết quả.",
                           field="body")
    now = deps.clock.now()
    today = now.astimezone(VN_TZ).date()
    stored: list[StagedBlob] = []  # the draft is put inside the transaction that numbers it
    try:
        return _draft(deps, who, dossier_code, request, now, today, stored)
    finally:
        for blob in stored:  # committed: the intent goes; refused: the blob goes with it
            settle(_staging(deps), blob)


def _staging(deps: ResultDeps) -> StagingDeps:
    return StagingDeps(store=deps.store, blobs=deps.blobs, clock=deps.clock)


def _draft(deps: ResultDeps, who: Principal, dossier_code: str, request: DraftRequest,
           now: datetime, today: date, stored: list[StagedBlob]) -> Result:
    with deps.store.session() as tx:
        dossier = _visible(tx, who, dossier_code)
        authorize(who, Action.EDIT_RESULT, dossier)
        existing = tx.result_of_dossier(dossier.id)
        if existing is not None and existing.status is not ResultStatus.DRAFT:
            raise Conflict("result_already_signed", "Kết quả đã được ký, không sửa được nữa.")
        procedure = tx.get_procedure(dossier.procedure_code)
        agency = tx.get_agency(dossier.agency_code)
        signer_name = request.signer or dossier.signer
        signer = tx.get_user(signer_name) if signer_name else None
        if (signer is None or Role.SIGNER not in signer.roles
                or signer.agency_code != dossier.agency_code):
            raise InvalidInput("invalid_signer", "Vui lòng chọn lãnh đạo có thẩm quyền ký của "
                               "cơ quan giải quyết hồ sơ.", field="signer")
        if existing is None:
            seq = tx.next_result_seq(dossier.agency_code, today.year)
            code = result_code(dossier.agency_code, today.year, seq)
            number = f"{seq}/{today.year}/KQ"
        else:
            code, number = existing.code, existing.number
        draft = DraftInput(
            agency_parent=_parent_authority(deps),
            agency_name=(agency.name if agency else "").upper(), number=number,
            place=deps.place, issue_date=today,
            title=(procedure.result_type if procedure else "KẾT QUẢ").upper(),
            subject=request.subject.strip(), body=tuple(p.strip() for p in request.body
                                                        if p.strip()),
            recipients=request.recipients, signer_title_lines=request.signer_title_lines,
            signer_name=_person_name(signer.display_name), result_code=code,
            verification_url="")
        content = _content_sha256(draft)
        digest = verification_digest(deps.digest_key, code, content)
        draft = replace(draft, verification_url=f"{deps.public_base_url.rstrip('/')}"
                                                f"/xac-minh/{code}?d={digest}")
        rendered = deps.renderer.render(draft)
        intent = tx.add_blob_intent(hashlib.sha256(rendered.pdf).hexdigest(), now)
        ref = deps.blobs.put(rendered.pdf)
        stored.append(StagedBlob(intent_id=intent, ref=ref))
        result = Result(
            id=existing.id if existing else 0, dossier_id=dossier.id, code=code,
            result_type=procedure.result_type if procedure else "", title=request.subject,
            status=ResultStatus.DRAFT, created_at=now, created_by=who.username,
            number=number, issue_date=today, draft_sha256=ref.sha256, blob_sha256=ref.sha256,
            content_sha256=content, digest=digest, page_count=rendered.page_count,
            signature_page=rendered.signature_page, personal_box=rendered.personal_box,
            seal_box=rendered.seal_box, signer_name=draft.signer_name,
            signer_title=" / ".join(request.signer_title_lines))
        if existing is None:
            result = tx.add_result(result)
        elif not tx.update_result(result, expected_status=ResultStatus.DRAFT):
            raise Conflict("result_already_signed", "Kết quả đã được ký, không sửa được nữa.")
        _audit(tx, deps, who.username, "result.draft", code, dossier=dossier.code,
               sha256=ref.sha256)
        return result


def _parent_authority(deps: ResultDeps) -> str:
    return f"UBND TỈNH {deps.place.upper()}"


def _person_name(display_name: str) -> str:
    # Demo accounts carry the job in brackets: "Nguyễn Văn Hùng (Phó Giám đốc Sở)".
    return display_name.split(" (", 1)[0].strip()


def _one(deps: ResultDeps, who: Principal, code: str, *, expected: ResultStatus,
         produce: Callable[[Result, Dossier], bytes], transition: str,
         finish: Callable[[Result, str, datetime], Result], action: str) -> BatchItem:
    """One result of a batch: read, sign outside the transaction, then record it only if
    nobody else did meanwhile; on any refusal, audit it and leave the result as it was."""
    try:
        with deps.store.session(readonly=True) as tx:
            result = tx.get_result(code)
            dossier = tx.get_dossier_by_id(result.dossier_id) if result else None
            if result is None or dossier is None or not can_see(who, dossier):
                raise result_not_found()
            if result.status is not expected:
                raise Conflict(f"result_not_{expected.value}", _STATE_MESSAGES[expected])
            # A dry run of the workflow step: who may, and in which state, before any signing.
            _step(tx, who, dossier, transition, deps.clock.now())
        signed = produce(result, dossier)
        with staged(_staging(deps), signed) as ref:
            _record_signed(deps, who, result, code, ref, expected=expected,
                           transition=transition, finish=finish, action=action)
        return BatchItem(code=code, ok=True)
    except DomainError as exc:
        with deps.store.session() as tx:
            _audit(tx, deps, who.username, f"{action}_refused", code, reason=exc.code)
        return BatchItem(code=code, ok=False, error_code=exc.code, message=exc.message)


def _record_signed(deps: ResultDeps, who: Principal, result: Result, code: str, ref: BlobRef,
                   *, expected: ResultStatus, transition: str,
                   finish: Callable[[Result, str, datetime], Result], action: str) -> None:
    now = deps.clock.now()
    with deps.store.session() as tx:
        dossier = tx.get_dossier_by_id(result.dossier_id)
        if dossier is None:
            raise result_not_found()
        outcome = _step(tx, who, dossier, transition, now)
        if not tx.update_result(finish(result, ref.sha256, now), expected_status=expected):
            raise Conflict("result_changed", "Kết quả vừa được người khác xử lý.")
        if not tx.update_dossier(outcome.dossier, expected_version=dossier.version):
            raise Conflict("stale_dossier", "Hồ sơ vừa được người khác cập nhật.")
        tx.add_history(outcome.entry)
        if transition == "seal":
            on_result_sealed(tx, code, now)
        _audit(tx, deps, who.username, action, code, dossier=dossier.code, sha256=ref.sha256)


def _step(tx: RecordsSession, who: Principal, dossier: Dossier, transition: str,
          now: datetime) -> TransitionOutcome:
    procedure = tx.get_procedure(dossier.procedure_code)
    if procedure is None:
        raise result_not_found()
    off, working = tx.holidays()
    return apply_transition(
        dossier, TransitionRequest(name=transition), actor=who, now=now, procedure=procedure,
        history=tx.history(dossier.id),
        policy=Policy(calendar=WorkingCalendar(holidays=off, working_weekend_days=working)))


_STATE_MESSAGES = {
    ResultStatus.DRAFT: "Kết quả không ở trạng thái chờ ký (có thể đã được ký).",
    ResultStatus.SIGNED: "Văn bản chưa có chữ ký số của người có thẩm quyền, hoặc đã được "
                         "đóng dấu.",
}


def _refuse_all(codes: Sequence[str], error: DomainError) -> list[BatchItem]:
    return [BatchItem(code=c, ok=False, error_code=error.code, message=error.message)
            for c in codes]


def _certificate_problems(deps: ResultDeps, certificate: CertificateRecord | None,
                          missing: DomainError) -> DomainError | None:
    if certificate is None:
        return missing
    problems = deps.signing.problems(certificate, at=deps.clock.now())
    if problems:
        return Forbidden(problems[0][0], "; ".join(message for _, message in problems))
    return None


def sign_results(deps: ResultDeps, who: Principal, codes: Sequence[str], *,
                 secret: str | None) -> list[BatchItem]:
    """The signer signs each result with their personal certificate (the PIN once)."""
    if not who.has(Role.SIGNER):
        return _refuse_all(codes, Forbidden("forbidden", "Bạn không có quyền ký kết quả."))
    with deps.store.session(readonly=True) as tx:
        owned = tx.certificates(owner_username=who.username, kind=CertificateKind.PERSONAL)
    certificate = owned[0] if owned else None
    refusal = _certificate_problems(deps, certificate, Forbidden(
        "no_certificate", "Bạn chưa có chứng thư số cá nhân được đăng ký trong hệ thống."))
    if refusal is not None or certificate is None:
        with deps.store.session() as tx:
            for code in codes:
                _audit(tx, deps, who.username, "result.sign_refused", code,
                       reason=refusal.code if refusal else "no_certificate")
        return _refuse_all(codes, refusal or Forbidden("no_certificate", ""))

    def produce(result: Result, dossier: Dossier) -> bytes:
        return deps.signing.sign_personal(
            deps.blobs.get(result.blob_sha256), certificate=certificate, secret=secret,
            page=result.signature_page, box=result.personal_box,
            signer_name=result.signer_name, title_lines=tuple(result.signer_title.split(" / ")))

    def finish(result: Result, sha: str, now: datetime) -> Result:
        return replace(result, status=ResultStatus.SIGNED, blob_sha256=sha, signed_sha256=sha,
                       signed_by=who.username, signed_at=now)

    return [_one(deps, who, code, expected=ResultStatus.DRAFT, produce=produce,
                 transition="sign", finish=finish, action="result.sign") for code in codes]


def seal_results(deps: ResultDeps, who: Principal, codes: Sequence[str], *,
                 secret: str | None) -> list[BatchItem]:
    """The seal custodian applies the agency's organisational certificate (second seal) to
    results the official has signed, under a written authorisation valid now."""
    if not who.has(Role.SEAL_CUSTODIAN) or who.agency_code is None:
        return _refuse_all(codes, Forbidden("forbidden", "Bạn không có quyền đóng dấu số."))
    now = deps.clock.now()
    with deps.store.session(readonly=True) as tx:
        grants = [a for a in tx.authorisations(custodian_username=who.username,
                                               agency_code=who.agency_code) if a.covers(now)]
        certificate = tx.get_certificate(grants[-1].certificate_id) if grants else None
    if not grants:
        refusal: DomainError | None = Forbidden(
            "no_seal_authorisation", "Bạn chưa được giao (hoặc đã hết hạn) quyền quản lý con "
            "dấu thứ hai của cơ quan.")
    else:
        refusal = _certificate_problems(deps, certificate, Forbidden(
            "no_certificate", "Chứng thư số của cơ quan chưa được đăng ký."))
    if refusal is not None or certificate is None:
        with deps.store.session() as tx:
            for code in codes:
                _audit(tx, deps, who.username, "result.seal_refused", code,
                       reason=refusal.code if refusal else "no_certificate")
        return _refuse_all(codes, refusal or Forbidden("no_certificate", ""))

    def produce(result: Result, dossier: Dossier) -> bytes:
        if dossier.agency_code != who.agency_code:
            raise result_not_found()
        return deps.signing.apply_seal(deps.blobs.get(result.blob_sha256),
                                       certificate=certificate, secret=secret,
                                       page=result.signature_page, box=result.seal_box)

    def finish(result: Result, sha: str, when: datetime) -> Result:
        return replace(result, status=ResultStatus.SEALED, blob_sha256=sha,
                       sealed_by=who.username, sealed_at=when,
                       seal_certificate_id=certificate.id)

    items = [_one(deps, who, code, expected=ResultStatus.SIGNED, produce=produce,
                  transition="seal", finish=finish, action="result.seal") for code in codes]
    for item in items:
        if item.ok:
            _retain(deps, item.code)
    return items


def _retain(deps: ResultDeps, code: str) -> None:
    # A sealed result is an original: ask the store to keep it unmodified (S3 object lock).
    with deps.store.session(readonly=True) as tx:
        result = tx.get_result(code)
    if result is not None:
        deps.blobs.retain(result.blob_sha256, deps.clock.now() + deps.retention)


@dataclass(frozen=True, kw_only=True, slots=True)
class SignerChoice:
    username: str
    display_name: str
    name: str  # as printed under the signature


def signer_choices(deps: ResultDeps, who: Principal, dossier_code: str) -> list[SignerChoice]:
    """Who can sign this dossier's result: active signers of its agency who hold a
    registered personal certificate (without one, ``sign_results`` would refuse them)."""
    with deps.store.session(readonly=True) as tx:
        dossier = _visible(tx, who, dossier_code)
        owners = sorted({c.owner_username for c in tx.certificates(
            kind=CertificateKind.PERSONAL) if c.owner_username})
        choices = []
        for username in owners:
            user = tx.get_user(username)
            if (user is not None and user.active and Role.SIGNER in user.roles
                    and user.agency_code == dossier.agency_code):
                choices.append(SignerChoice(username=user.username,
                                            display_name=user.display_name,
                                            name=_person_name(user.display_name)))
    return choices


@dataclass(frozen=True, kw_only=True, slots=True)
class Letterhead:
    """The heading of the centre's printed forms (02, 04) for a dossier, as on its result."""

    parent: str  # the governing authority: "UBND TỈNH QUẢNG NINH"
    agency: str  # the agency deciding the dossier
    place: str


def letterhead(deps: ResultDeps, who: Principal, dossier_code: str) -> Letterhead:
    with deps.store.session(readonly=True) as tx:
        dossier = _visible(tx, who, dossier_code)
        agency = tx.get_agency(dossier.agency_code)
    return Letterhead(parent=_parent_authority(deps),
                      agency=agency.name if agency else dossier.agency_code, place=deps.place)


@dataclass(frozen=True, kw_only=True, slots=True)
class ArchiveExtension:
    code: str
    expires: datetime
    extended: bool
    message: str = ""


def extend_archives(deps: ResultDeps, *, within: timedelta,
                    codes: Sequence[str] = ()) -> list[ArchiveExtension]:
    """Add an archive timestamp (PAdES B-LTA) to sealed results whose signing certificates
    expire within ``within`` (or to ``codes``), so that they still verify after expiry.

    The operator's job (``motcua archive extend``): it runs on the server, as the system.
    """
    now = deps.clock.now()
    with deps.store.session(readonly=True) as tx:
        candidates = []
        for result in tx.results_in(frozenset({ResultStatus.SEALED, ResultStatus.ISSUED})):
            if codes and result.code not in codes:
                continue
            certificates = [tx.get_certificate(result.seal_certificate_id)
                            if result.seal_certificate_id else None]
            certificates += tx.certificates(owner_username=result.signed_by or "")
            expiries = [c.not_after for c in certificates if c is not None]
            expires = min(expiries) if expiries else now
            if codes or expires <= now + within:
                candidates.append((result, expires))
    done = []
    for result, expires in candidates:
        try:
            extended = deps.signing.extend_archive(deps.blobs.get(result.blob_sha256))
        except DomainError as exc:
            done.append(ArchiveExtension(code=result.code, expires=expires, extended=False,
                                         message=exc.message))
            continue
        with staged(_staging(deps), extended) as ref, deps.store.session() as tx:
            kept = tx.update_result(replace(result, blob_sha256=ref.sha256),
                                    expected_status=result.status)
            if kept:
                _audit(tx, deps, "system", "result.archive_extend", result.code,
                       sha256=ref.sha256, previous=result.blob_sha256)
        if not kept:  # changed meanwhile (the extension was dropped with its blob)
            done.append(ArchiveExtension(code=result.code, expires=expires, extended=False,
                                         message="Kết quả vừa thay đổi; lần sau sẽ gia hạn."))
            continue
        deps.blobs.retain(ref.sha256, now + deps.retention)
        done.append(ArchiveExtension(code=result.code, expires=expires, extended=True))
    return done
