"""Ports: the small interfaces through which the records core asks the outside world.

Each port states its contract in plain words. Every port has at least two real
implementations (the embedded default and the scale-out engine) and one contract test
suite under ``tests/contract`` that both pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from records.authz import Scope
from records.model import CertificateRecord

__all__ = [
    "BlobCorrupt",
    "BlobMissing",
    "BlobRef",
    "BlobStore",
    "BlobStoreUnavailable",
    "Clock",
    "DraftInput",
    "IndexedDocument",
    "PasswordHasher",
    "RenderedDraft",
    "ResultRenderer",
    "RetentionOutcome",
    "SearchHit",
    "SearchIndex",
    "SearchPage",
    "SearchQuery",
    "SigningPort",
    "UploadFacts",
    "UploadInspector",
    "UploadRefusal",
    "check_retention_date",
    "check_sha256",
    "is_sha256",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise ``ValueError``.

    Every store checks names with this: a blob name becomes a path or a key, and anything
    else could escape the store's root.
    """
    if not is_sha256(sha256):
        raise ValueError(f"not a lowercase hex sha256: {str(sha256)[:80]!r}")
    return sha256


def check_retention_date(until: datetime, now: datetime) -> None:
    """A retention date must be timezone-aware and in the future."""
    if until.tzinfo is None or until.utcoffset() is None:
        raise ValueError("retention date must be timezone-aware")
    if until <= now:
        raise ValueError(f"retention date {until.isoformat()} is not in the future")


@dataclass(frozen=True, kw_only=True, slots=True)
class BlobRef:
    """Where a stored blob is: its lowercase hex sha256 and its size in bytes."""

    sha256: str
    size: int


class RetentionOutcome(Enum):
    """What ``BlobStore.retain`` achieved."""

    LOCKED = "locked"  # the store itself refuses deletion until the date (S3 object lock)
    RECORDED = "recorded"  # the store has no lock; the date is only recorded
    UNSUPPORTED = "unsupported"  # the server lacks object lock; nothing enforced


class BlobMissing(LookupError):
    """No blob with that sha256 is stored."""


class BlobCorrupt(RuntimeError):
    """The stored bytes no longer hash to their name: the blob is damaged."""


class BlobStoreUnavailable(RuntimeError):
    """The store cannot be reached now; the operation may succeed when retried."""


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage of immutable bytes.

    Contract:
    - ``put`` stores the bytes under their sha256 and returns the ref. It SHALL be idempotent
      (putting the same bytes twice stores one blob) and SHALL never leave a partial blob
      visible: after a crash mid-write, ``exists`` is false or the blob is complete.
    - ``get`` and ``copy_to`` SHALL verify the bytes against the sha256 on every read and raise
      ``BlobCorrupt`` when they differ (``copy_to`` may already have written some bytes to
      ``dest`` when it raises), ``BlobMissing`` when there is no such blob.
    - ``delete`` removes a blob; deleting a missing blob is not an error. A blob under
      retention may refuse deletion (the S3 store raises ``PermissionError``).
    - ``retain`` asks the store to keep the blob unmodified and undeletable until ``until``.
    - ``iter_sha256`` lists every stored blob, for the integrity sweep.
    - Every method raises ``BlobStoreUnavailable`` when the backing server is unreachable.
    """

    def put(self, source: bytes | BinaryIO) -> BlobRef: ...

    def get(self, sha256: str) -> bytes: ...

    def copy_to(self, sha256: str, dest: BinaryIO) -> int: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...

    def delete(self, sha256: str) -> None: ...

    def retain(self, sha256: str, until: datetime) -> RetentionOutcome: ...

    def iter_sha256(self) -> Iterator[str]: ...


class Clock(Protocol):
    """The current time. ``now`` SHALL return a timezone-aware datetime in UTC."""

    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    """Password hashing. ``verify`` SHALL return False (not raise) for a wrong password or a
    malformed hash, and take comparable time either way."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class UploadFacts:
    """What inspection learnt of an accepted upload, from its bytes."""

    media_type: str
    page_count: int
    signed: bool = False  # a signed PDF: never modified, its text extracted beside it
    has_text: bool = False
    resolution_dpi: int | None = None  # scans: the lower of the two axes, where known


@dataclass(frozen=True, kw_only=True, slots=True)
class UploadRefusal:
    """Why an upload was refused: a stable code and a Vietnamese message for the clerk."""

    code: str
    message: str


class UploadInspector(Protocol):
    """Checks an upload before anything is stored or processed.

    ``inspect`` SHALL decide from the file's bytes (never its name), in bounded time and
    memory whatever the file holds, and return a refusal (a value, not an exception) for
    anything it will not accept.
    """

    def inspect(self, path: Path) -> UploadFacts | UploadRefusal: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftInput:
    """What a result template needs. Text is Vietnamese, as printed."""

    agency_parent: str  # e.g. "UBND TỈNH QUẢNG NINH"
    agency_name: str  # e.g. "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG"
    number: str  # "Số: …"
    place: str
    issue_date: date
    title: str  # the result type, e.g. "GIẤY CHỨNG NHẬN …"
    subject: str
    body: tuple[str, ...]
    recipients: tuple[str, ...]
    signer_title_lines: tuple[str, ...]
    signer_name: str
    result_code: str
    verification_url: str  # printed as a QR code


@dataclass(frozen=True, kw_only=True, slots=True)
class RenderedDraft:
    pdf: bytes  # PDF/A-2b
    page_count: int
    signature_page: int  # 1-based
    personal_box: tuple[float, float, float, float]  # where the personal stamp goes
    seal_box: tuple[float, float, float, float]  # over the left third of it


class ResultRenderer(Protocol):
    """Renders a result's template. ``render`` SHALL be deterministic for the same input."""

    def render(self, draft: DraftInput) -> RenderedDraft: ...


class SigningPort(Protocol):
    """Applies signatures to result PDFs (the ``signing`` package implements it).

    ``problems`` lists what forbids signing with the certificate now (expired, revoked, wrong
    key usage, untrusted), as (code, Vietnamese message) pairs; empty means none. The signing
    calls raise ``records.errors.DomainError`` subclasses with a Vietnamese message for a
    refusal (wrong PIN, a PDF not personally signed before sealing) and return the new PDF.
    """

    def problems(self, certificate: CertificateRecord, *, at: datetime
                 ) -> list[tuple[str, str]]: ...

    def sign_personal(self, pdf: bytes, *, certificate: CertificateRecord, secret: str | None,
                      page: int, box: tuple[float, float, float, float], signer_name: str,
                      title_lines: tuple[str, ...]) -> bytes: ...

    def apply_seal(self, pdf: bytes, *, certificate: CertificateRecord, secret: str | None,
                   page: int, box: tuple[float, float, float, float]) -> bytes: ...

    def extend_archive(self, pdf: bytes) -> bytes:
        """Add validation data and an archive timestamp (PAdES B-LTA)."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexedDocument:
    """What the search index holds of a digitised paper or an e-result (derived data).

    ``version`` only grows: a write carrying a lower version than the stored one is ignored
    (an out-of-order, stale write never overwrites a newer one).
    """

    doc_id: str  # "document:{doc_code}" or "result:{code}"
    version: int
    kind: str  # "document" | "result"
    owner_id: str
    dossier_code: str
    procedure_code: str
    document_type: str
    status: str
    branch_code: str
    agency_code: str
    created_at: datetime
    issued: date | None
    title: str
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchQuery:
    text: str = ""  # Vietnamese, with or without diacritics; empty: filters only
    scope: Scope | None = None  # records.authz.reach_of: who may see what
    owner_id: str | None = None
    procedure_code: str | None = None
    document_type: str | None = None
    kind: str | None = None
    status: str | None = None
    branch_code: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchHit:
    doc_id: str
    score: float
    document: IndexedDocument
    snippet: str  # a fragment of the text with the matches in <mark>…</mark>, HTML-escaped


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchPage:
    total: int  # matches the asker may see, never more
    hits: tuple[SearchHit, ...]


class SearchIndex(Protocol):
    """Full-text search over documents and results, Vietnamese-aware.

    Contract: text is normalised to NFC at index and query time; a query typed without
    diacritics finds text with them ("dat" finds "đất", "nguyen thi huong" finds "Nguyễn Thị
    Hương", đ folds to d) while an accented query ranks exact accents first; the scope and
    filters are applied inside the engine, so ``total`` and hits never include anything
    outside the scope; query syntax characters are treated as text, never as operators; an
    empty or over-long query is a valid query (filters only / truncated), never an error;
    ``upsert`` ignores a document whose ``version`` is lower than the stored one;
    ``rebuild`` replaces the whole index so that readers see either the old or the new one.
    """

    def upsert(self, documents: Sequence[IndexedDocument]) -> None: ...

    def delete(self, doc_ids: Sequence[str]) -> None: ...

    def search(self, query: SearchQuery) -> SearchPage: ...

    def get(self, doc_id: str) -> IndexedDocument | None: ...

    def count(self) -> int: ...

    def rebuild(self, documents: Iterable[IndexedDocument]) -> None: ...
