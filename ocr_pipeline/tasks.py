"""The digitisation job: originals in, the two-layer PDF/A copy and the page texts out.

Registered with the job runner under ``records.documents.OCR_JOB`` by the composition root.
Idempotent: a version already READY is left alone, identical originals are processed once,
and a blob a killed attempt stored but never recorded is removed before trying again, so
that exactly one archival copy exists.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from ocr_pipeline.engine import OcrOptions, OcrOutcome, extract_text, make_archival_pdf
from ocr_pipeline.isolation import run_isolated
from ocr_pipeline.suggest import suggest_metadata
from records.datastore import on_document_ready
from records.jobs import JobContext, TransientJobError
from records.model import DocumentVersion, PageText, VersionStatus
from records.ports import BlobStore, BlobStoreUnavailable, Clock
from records.repository import RecordsStore

__all__ = ["DigitiseDeps", "FileProgress", "digitise"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class DigitiseDeps:
    store: RecordsStore
    blobs: BlobStore
    clock: Clock
    options: OcrOptions
    work_dir: Path
    timeout_s: float = 1800.0
    memory_bytes: int = 4 << 30


class FileProgress:
    """A picklable progress sink for a child process: it writes ``done total`` to a file
    that the parent polls (a callback cannot cross the process boundary)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, done: int, total: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{done} {total}", encoding="ascii")
        tmp.replace(self.path)

    def read(self) -> tuple[int, int] | None:
        try:
            done, total = self.path.read_text(encoding="ascii").split()
            return int(done), int(total)
        except (OSError, ValueError):
            return None


def _relay(progress: FileProgress, report: Callable[[int, int], None],
           stop: threading.Event) -> None:
    last: tuple[int, int] | None = None
    while not stop.wait(0.5):
        now = progress.read()
        if now is not None and now != last:
            report(*now)
            last = now


def _version(deps: DigitiseDeps, document_id: int, number: int) -> DocumentVersion:
    with deps.store.session(readonly=True) as tx:
        document = tx.get_document_by_id(document_id)
    versions = [v for v in document.versions if v.version == number] if document else []
    if not versions:
        raise LookupError(f"document {document_id} has no version {number}")
    return versions[0]


def _drop_orphan(deps: DigitiseDeps, sha256: str | None) -> None:
    if sha256 is None:
        return
    with deps.store.session(readonly=True) as tx:
        referenced = tx.blob_referenced(sha256)
    if not referenced:
        deps.blobs.delete(sha256)


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _record(deps: DigitiseDeps, version: DocumentVersion, *, archival: str,
            pages: list[PageText], signed: bool, mean: float | None) -> None:
    text = "\n".join(p.text for p in pages)
    suggestion = json.dumps(asdict(suggest_metadata(text)), ensure_ascii=False,
                            default=_json_default)
    with deps.store.session() as tx:
        tx.save_pages(version.document_id, version.version, pages)
        tx.set_version_outcome(version.document_id, version.version,
                               status=VersionStatus.READY, archival_sha256=archival,
                               page_count=len(pages), ocr_confidence=mean, signed=signed,
                               suggested=suggestion,
                               resolution_dpi=version.resolution_dpi)
        on_document_ready(tx, version.document_id, deps.clock.now())


def _reuse_identical(deps: DigitiseDeps, version: DocumentVersion) -> bool:
    """Identical originals (same sha256s, same order) are processed once."""
    with deps.store.session() as tx:
        found = tx.ready_version_with_files([f.sha256 for f in version.files])
        if found is None or found == (version.document_id, version.version):
            return False
        source = tx.get_document_by_id(found[0])
        done = [v for v in source.versions if v.version == found[1]] if source else []
        if not done:
            return False
        pages = tx.pages(*found)
        tx.save_pages(version.document_id, version.version, pages)
        tx.set_version_outcome(version.document_id, version.version,
                               status=VersionStatus.READY,
                               archival_sha256=done[0].archival_sha256,
                               page_count=done[0].page_count,
                               ocr_confidence=done[0].ocr_confidence, signed=done[0].signed,
                               suggested=tx.suggested(*found),
                               resolution_dpi=version.resolution_dpi)
        on_document_ready(tx, version.document_id, deps.clock.now())
    return True


def _page_texts(outcome: OcrOutcome) -> list[PageText]:
    return [PageText(number=p.number, text=p.text, confidence=p.confidence,
                     needs_review=p.needs_review, ocr_done=p.ocr_done)
            for p in outcome.pages]


def _mark_failed(deps: DigitiseDeps, version: DocumentVersion, reason: str) -> None:
    with deps.store.session() as tx:
        tx.set_version_outcome(version.document_id, version.version,
                               status=VersionStatus.FAILED, failure=reason[:2000],
                               page_count=version.page_count,
                               resolution_dpi=version.resolution_dpi, signed=version.signed)


def digitise(deps: DigitiseDeps, ctx: JobContext) -> None:
    """Run the job; a failure that will not be retried marks the version FAILED (the
    original stays, and a clerk sees the reason)."""
    job = ctx.job
    version = _version(deps, job.document_id, job.version)
    if version.status is VersionStatus.READY:
        return
    try:
        _digitise(deps, ctx, version)
    except TransientJobError as exc:
        if job.attempts >= job.max_attempts:
            _mark_failed(deps, version, f"{exc}")
        raise
    except OcrFailed as exc:
        _mark_failed(deps, version, str(exc))  # already names the child's error
        raise
    except Exception as exc:
        _mark_failed(deps, version, f"{type(exc).__name__}: {exc}")
        raise


def _clear_scratch(deps: DigitiseDeps, job_id: int) -> None:
    # A killed attempt leaves its folder behind; the claim makes this attempt the only one.
    for leftover in deps.work_dir.glob(f"job-{job_id}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _digitise(deps: DigitiseDeps, ctx: JobContext, version: DocumentVersion) -> None:
    _drop_orphan(deps, ctx.job.pending_output)
    if _reuse_identical(deps, version):
        return
    try:
        deps.work_dir.mkdir(parents=True, exist_ok=True)
        _clear_scratch(deps, ctx.job.id)
        with tempfile.TemporaryDirectory(dir=deps.work_dir, prefix=f"job-{ctx.job.id}-") as tmp:
            folder = Path(tmp)
            inputs = []
            for f in version.files:
                path = folder / f"in-{f.position:04d}"
                with path.open("wb") as out:
                    deps.blobs.copy_to(f.sha256, out)
                inputs.append(path)
            if version.signed:
                # A signed PDF is never modified, nor OCR'd: its own text is kept beside it.
                texts = _isolated(deps, extract_text, inputs[0])
                pages = [PageText(number=n, text=t, confidence=None, needs_review=False,
                                  ocr_done=False) for n, t in enumerate(texts, start=1)]
                _record(deps, version, archival=version.files[0].sha256, pages=pages,
                        signed=True, mean=None)
                return
            output = folder / "archival.pdf"
            progress = FileProgress(folder / "progress")
            stop = threading.Event()
            relay = threading.Thread(target=_relay, args=(progress, ctx.report_progress, stop),
                                     daemon=True)
            relay.start()
            try:
                outcome = _isolated(deps, make_archival_pdf, inputs, output, deps.options,
                                    progress)
            finally:
                stop.set()
                relay.join()
            ctx.report_progress(len(outcome.pages), len(outcome.pages))
            sha = _sha256(output)
            ctx.set_pending_output(sha)  # recorded before the put: a crash leaves a trace
            with output.open("rb") as source:
                deps.blobs.put(source)
            _record(deps, version, archival=sha, pages=_page_texts(outcome), signed=False,
                    mean=outcome.mean_confidence)
    except (BlobStoreUnavailable, OSError) as exc:
        # Storage away or the disk full: worth retrying later; the original is untouched.
        raise TransientJobError(str(exc)) from exc


class OcrFailed(RuntimeError):
    """OCR itself failed on this input: retrying the same bytes would fail again."""


def _isolated(deps: DigitiseDeps, func: Callable[..., T], *args: object) -> T:
    # Whatever the child raised (even an OSError from inside ocrmypdf) is about the input,
    # not about our storage: it must quarantine, not be retried as transient.
    try:
        return run_isolated(func, *args, timeout_s=deps.timeout_s,
                            memory_bytes=deps.memory_bytes)
    except Exception as exc:
        raise OcrFailed(f"{type(exc).__name__}: {exc}") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
