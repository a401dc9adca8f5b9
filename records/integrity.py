"""The integrity sweep an operator schedules nightly (``motcua check``).

It re-reads what the records promise and reports what no longer holds: every blob the
database references re-hashed against its sha256 (streamed, never loaded whole), every signed
or sealed result re-validated through a ``ResultVerifier`` (the ``signing`` package, wired by
the composition root), the audit chain verified, the search index compared with the records,
and jobs stuck past their lease. It never repairs anything: a finding says what is wrong and
where (object code, blob sha256, audit seq), in Vietnamese for the operator.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import BinaryIO, Protocol, cast

from records.audit import ChainProblem, verify_chain
from records.indexing import build_entry
from records.ports import (
    BlobCorrupt,
    BlobMissing,
    BlobStore,
    BlobStoreUnavailable,
    Clock,
    IndexedDocument,
    SearchIndex,
    SearchQuery,
)
from records.repository import RecordsStore

__all__ = [
    "BlobReference",
    "CheckDeps",
    "CheckedResult",
    "Finding",
    "FindingKind",
    "IntegrityReport",
    "ResultVerifier",
    "Severity",
    "SignatureCheck",
    "StuckJob",
    "run_check",
]

BLOB_PAGE = 500  # distinct blobs per database round trip
RESULT_PAGE = 100
INDEX_PAGE = 200
MAX_NAMED_EXTRAS = 10_000  # Elasticsearch pages no further than 10,000 hits
AUDIT_WAIT_LIMIT = timedelta(minutes=1)  # a chainer moves records of reads within a second


class Severity(StrEnum):
    PROBLEM = "problem"  # something promised is broken: the command exits 1
    NOTICE = "notice"  # worth a look, not damage (an unreferenced blob, a quarantined job)


class FindingKind(StrEnum):
    BLOB_MISSING = "blob_missing"
    BLOB_CORRUPT = "blob_corrupt"
    BLOB_SIZE = "blob_size"  # hashes right but the recorded size differs
    BLOB_UNAVAILABLE = "blob_unavailable"  # the store could not be reached: sweep incomplete
    BLOB_ORPHAN = "blob_orphan"
    RESULT_INVALID = "result_invalid"
    AUDIT_BROKEN = "audit_broken"
    AUDIT_WAITING = "audit_waiting"  # records of reads not chained for a minute: no chainer
    INDEX_MISSING = "index_missing"
    INDEX_STALE = "index_stale"
    INDEX_EXTRA = "index_extra"
    JOB_STUCK = "job_stuck"
    JOB_QUARANTINED = "job_quarantined"


_NOTICES = frozenset({FindingKind.BLOB_ORPHAN, FindingKind.JOB_QUARANTINED})


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """One thing wrong: what kind, which object (``document:…``, ``result:…``, ``audit``,
    ``job:…``, ``index``), where exactly (blob sha256, audit seq, index key) and a Vietnamese
    sentence for the operator."""

    kind: FindingKind
    object: str
    where: str
    message: str

    @property
    def severity(self) -> Severity:
        return Severity.NOTICE if self.kind in _NOTICES else Severity.PROBLEM


@dataclass(frozen=True, kw_only=True, slots=True)
class BlobReference:
    """A record pointing at a blob. ``role``: original | archival | draft | signed | result."""

    sha256: str
    size: int | None  # known for originals only
    object: str  # "document:{doc_code}" or "result:{code}"
    role: str
    version: int | None = None
    position: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckedResult:
    """A result that carries signatures: its current file must validate."""

    id: int
    code: str
    status: str
    blob_sha256: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StuckJob:
    id: int
    kind: str
    state: str
    doc_code: str
    since: datetime  # when its lease ran out, or since when it has been due
    attempts: int
    last_error: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class SignatureCheck:
    valid: bool
    message: str  # Vietnamese: what failed, or that all signatures passed


class ResultVerifier(Protocol):
    """Validates every signature of a result PDF (the ``signing`` package implements it).

    ``verify`` SHALL return a value, never raise, for any bytes: a damaged or unparseable
    file is an invalid result, not a fault of the sweep.
    """

    def verify(self, pdf: bytes) -> SignatureCheck: ...


@dataclass(frozen=True, kw_only=True)
class CheckDeps:
    store: RecordsStore
    blobs: BlobStore
    clock: Clock
    audit_key: bytes
    index: SearchIndex | None  # None: skip the index comparison
    verifier: ResultVerifier | None  # None: skip re-validating results
    stuck_after: timedelta = timedelta(minutes=15)


@dataclass(kw_only=True)
class IntegrityReport:
    findings: list[Finding] = field(default_factory=list)
    blobs_checked: int = 0
    bytes_checked: int = 0
    blobs_stored: int = 0
    results_checked: int = 0
    audit_checked: int = 0
    index_checked: int = 0
    jobs_stuck: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(f.severity is Severity.PROBLEM for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.PROBLEM]


_ROLE_LABELS = {
    "original": "tệp gốc",
    "archival": "bản lưu trữ PDF/A",
    "draft": "bản dự thảo",
    "signed": "bản đã ký cá nhân",
    "result": "bản kết quả hiện hành",
}


def _describe(ref: BlobReference) -> str:
    """Vietnamese: which file of which record, e.g. "tệp gốc số 1, phiên bản 1 của tài liệu X"."""
    kind, _, code = ref.object.partition(":")
    owner = f"tài liệu {code}" if kind == "document" else f"kết quả {code}"
    label = _ROLE_LABELS.get(ref.role, ref.role)
    if ref.position is not None:
        label += f" số {ref.position + 1}"
    if ref.version is not None:
        label += f", phiên bản {ref.version}"
    return f"{label} của {owner}"


class _Sink:
    """A write target that keeps nothing: the store hashes while it copies."""

    def write(self, data: bytes) -> int:
        return len(data)


def _blob_references(deps: CheckDeps) -> Iterator[list[BlobReference]]:
    """All references, grouped by blob, one short read transaction per page."""
    after = ""
    while True:
        with deps.store.session(readonly=True) as tx:
            page = tx.blob_references(after=after, limit=BLOB_PAGE)
        if not page:
            return
        group: list[BlobReference] = []
        for ref in page:
            if group and ref.sha256 != group[0].sha256:
                yield group
                group = []
            group.append(ref)
        yield group
        after = page[-1].sha256


def _check_blobs(deps: CheckDeps, report: IntegrityReport) -> None:
    referenced: set[bytes] = set()  # 32 bytes a blob: a province's millions fit in memory
    try:
        for group in _blob_references(deps):
            sha = group[0].sha256
            referenced.add(bytes.fromhex(sha))
            report.findings.extend(_check_blob(deps, report, sha, group))
        for stored in deps.blobs.iter_sha256():
            report.blobs_stored += 1
            if bytes.fromhex(stored) not in referenced:
                report.findings.append(Finding(
                    kind=FindingKind.BLOB_ORPHAN, object="blob", where=f"blob {stored}",
                    message=f"Tệp {stored} có trong kho nhưng không hồ sơ nào tham chiếu "
                            "(có thể do một lần tải lên bị gián đoạn)."))
    except BlobStoreUnavailable as exc:
        report.findings.append(Finding(
            kind=FindingKind.BLOB_UNAVAILABLE, object="blob", where=str(exc)[:200],
            message="Không kết nối được kho lưu trữ tệp: việc kiểm tra tệp chưa hoàn tất, "
                    "hãy chạy lại khi kho hoạt động."))


def _check_blob(deps: CheckDeps, report: IntegrityReport, sha: str,
                refs: list[BlobReference]) -> list[Finding]:
    try:
        size = deps.blobs.copy_to(sha, cast(BinaryIO, _Sink()))
    except BlobMissing:
        return [Finding(kind=FindingKind.BLOB_MISSING, object=r.object, where=f"blob {sha}",
                        message=f"Mất tệp: {_describe(r)} (mã băm {sha}) không còn trong "
                                "kho lưu trữ.") for r in refs]
    except BlobCorrupt:
        report.blobs_checked += 1
        return [Finding(kind=FindingKind.BLOB_CORRUPT, object=r.object, where=f"blob {sha}",
                        message=f"Tệp hỏng: {_describe(r)} không còn khớp mã băm SHA-256 "
                                f"{sha}.") for r in refs]
    report.blobs_checked += 1
    report.bytes_checked += size
    return [Finding(kind=FindingKind.BLOB_SIZE, object=r.object, where=f"blob {sha}",
                    message=f"Kích thước {_describe(r)} là {size} byte, khác với {r.size} "
                            "byte đã ghi trong cơ sở dữ liệu.")
            for r in refs if r.size is not None and r.size != size]


def _check_results(deps: CheckDeps, verifier: ResultVerifier,
                   report: IntegrityReport) -> None:
    after = 0
    while True:
        with deps.store.session(readonly=True) as tx:
            page = tx.results_to_verify(after_id=after, limit=RESULT_PAGE)
        if not page:
            return
        for result in page:
            try:
                pdf = deps.blobs.get(result.blob_sha256)
            except (BlobMissing, BlobCorrupt):
                continue  # already named by the blob sweep, with the result's code
            except BlobStoreUnavailable:
                return  # already reported by the blob sweep
            report.results_checked += 1
            check = verifier.verify(pdf)
            if not check.valid:
                report.findings.append(Finding(
                    kind=FindingKind.RESULT_INVALID, object=f"result:{result.code}",
                    where=f"blob {result.blob_sha256}",
                    message=f"Kết quả {result.code} ({result.status}) không còn hợp lệ khi "
                            f"xác thực chữ ký số: {check.message}"))
        after = page[-1].id


_CHAIN_MESSAGES = {
    ChainProblem.EDITED: "bản ghi nhật ký số {seq} đã bị sửa",
    ChainProblem.DELETED: "một bản ghi nhật ký trước số {seq} đã bị xóa",
    ChainProblem.REORDERED: "bản ghi nhật ký số {seq} bị đổi chỗ",
    ChainProblem.RENUMBERED: "bản ghi nhật ký số {seq} bị đánh số lại",
    ChainProblem.TRUNCATED: "nhật ký bị cắt cụt: thiếu các bản ghi cuối (đầu chuỗi ở số {seq})",
}


def _check_audit(deps: CheckDeps, report: IntegrityReport) -> None:
    with deps.store.session(readonly=True) as tx:
        chain = verify_chain(tx.audit_entries(), key=deps.audit_key, head=tx.audit_head(),
                             hash_exists=tx.audit_hash_exists)
        waiting, oldest = tx.queued_audits()
    if oldest is not None and oldest < deps.clock.now() - AUDIT_WAIT_LIMIT:
        report.findings.append(Finding(
            kind=FindingKind.AUDIT_WAITING, object="audit", where=f"inbox {waiting}",
            message=f"{waiting} bản ghi truy cập đang chờ đưa vào chuỗi nhật ký, bản cũ nhất "
                    f"từ {oldest:%d/%m/%Y %H:%M:%S} UTC: không tiến trình dịch vụ nào đang "
                    f"nối chuỗi (motcua serve)."))
    report.audit_checked = chain.checked
    if not chain.intact and chain.problem is not None:
        report.findings.append(Finding(
            kind=FindingKind.AUDIT_BROKEN, object="audit", where=f"seq {chain.seq}",
            message=f"Chuỗi nhật ký kiểm toán bị phá vỡ: "
                    f"{_CHAIN_MESSAGES[chain.problem].format(seq=chain.seq)}."))


def _comparable(entry: IndexedDocument) -> tuple[object, ...]:
    return (entry.kind, entry.owner_id, entry.dossier_code, entry.procedure_code,
            entry.document_type, entry.status, entry.branch_code, entry.agency_code,
            unicodedata.normalize("NFC", entry.title), entry.issued,
            unicodedata.normalize("NFC", entry.text).strip())


def _pending_keys(deps: CheckDeps) -> set[str]:
    with deps.store.session(readonly=True) as tx:
        return {key for _, key in tx.pending_outbox(1_000_000)}


def _check_index(deps: CheckDeps, index: SearchIndex, report: IntegrityReport) -> None:
    pending = _pending_keys(deps)  # awaiting the indexer: lag, not damage
    with deps.store.session(readonly=True) as tx:
        keys = tx.index_keys()
    found: list[Finding] = []
    present = 0
    for start in range(0, len(keys), INDEX_PAGE):
        chunk = [k for k in keys[start:start + INDEX_PAGE] if k not in pending]
        with deps.store.session(readonly=True) as tx:
            expected = {key: build_entry(tx, key, 0) for key in chunk}
        for key, want in expected.items():
            have = index.get(key)
            report.index_checked += 1
            present += have is not None
            if want is not None and have is None:
                found.append(Finding(kind=FindingKind.INDEX_MISSING, object=key,
                                     where=f"index {key}",
                                     message=f"Chỉ mục tìm kiếm thiếu {key}: hãy chạy "
                                             "\"motcua reindex\"."))
            elif want is None and have is not None:
                found.append(Finding(kind=FindingKind.INDEX_STALE, object=key,
                                     where=f"index {key}",
                                     message=f"Chỉ mục tìm kiếm còn giữ {key} dù hồ sơ không "
                                             "còn cho phép tìm thấy nó."))
            elif want is not None and have is not None and _comparable(want) != _comparable(have):
                found.append(Finding(kind=FindingKind.INDEX_STALE, object=key,
                                     where=f"index {key}",
                                     message=f"Chỉ mục tìm kiếm của {key} đã cũ, khác với hồ sơ "
                                             f"(trạng thái trong chỉ mục: {have.status})."))
    found.extend(_index_extras(index, set(keys), present + len(pending)))
    # A write committed during the sweep is lag too: drop what is now awaiting the indexer.
    now_pending = _pending_keys(deps)
    report.findings.extend(f for f in found if f.object not in now_pending)


def _index_extras(index: SearchIndex, keys: set[str], accounted: int) -> list[Finding]:
    """Entries the index holds for no record at all."""
    total = index.count()
    if total <= accounted:
        return []
    extras: list[str] = []
    for offset in range(0, min(total, MAX_NAMED_EXTRAS), 100):
        page = index.search(SearchQuery(limit=100, offset=offset))
        extras.extend(h.doc_id for h in page.hits if h.doc_id not in keys)
        if len(page.hits) < 100:
            break
    findings = [Finding(kind=FindingKind.INDEX_EXTRA, object=doc_id, where=f"index {doc_id}",
                        message=f"Chỉ mục tìm kiếm có {doc_id} nhưng không có hồ sơ tương ứng.")
                for doc_id in extras]
    if not extras:
        findings.append(Finding(
            kind=FindingKind.INDEX_EXTRA, object="index", where="index",
            message=f"Chỉ mục tìm kiếm có {total} mục, nhiều hơn {accounted} mục của hồ sơ."))
    return findings


def _check_jobs(deps: CheckDeps, report: IntegrityReport) -> None:
    now = deps.clock.now()
    with deps.store.session(readonly=True) as tx:
        stuck = tx.stuck_jobs(before=now - deps.stuck_after, limit=1000)
    report.jobs_stuck = sum(job.state != "quarantined" for job in stuck)
    for job in stuck:
        since = job.since.astimezone().isoformat(timespec="seconds")
        if job.state == "quarantined":
            report.findings.append(Finding(
                kind=FindingKind.JOB_QUARANTINED, object=f"job:{job.id}",
                where=f"document:{job.doc_code}",
                message=f"Tác vụ {job.kind} số {job.id} của tài liệu {job.doc_code} đã dừng "
                        f"sau {job.attempts} lần thử, cần người xem: {job.last_error or ''}"))
        else:
            report.findings.append(Finding(
                kind=FindingKind.JOB_STUCK, object=f"job:{job.id}",
                where=f"document:{job.doc_code}",
                message=f"Tác vụ {job.kind} số {job.id} của tài liệu {job.doc_code} bị treo "
                        f"ở trạng thái {job.state} từ {since}: không tiến trình nào xử lý nó."))


def run_check(deps: CheckDeps) -> IntegrityReport:
    """Run every check; the report lists findings in the order the checks ran."""
    report = IntegrityReport()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("blobs", lambda: _check_blobs(deps, report)),
        ("audit", lambda: _check_audit(deps, report)),
        ("jobs", lambda: _check_jobs(deps, report)),
    ]
    verifier, index = deps.verifier, deps.index
    if verifier is not None:
        steps.insert(1, ("results", lambda: _check_results(deps, verifier, report)))
    if index is not None:
        steps.append(("index", lambda: _check_index(deps, index, report)))
    started = time.monotonic()
    for name, step in steps:
        begun = time.monotonic()
        step()
        report.timings[name] = round(time.monotonic() - begun, 3)
    report.seconds = round(time.monotonic() - started, 3)
    return report
