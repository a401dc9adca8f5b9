"""The records store port: a transactional session over the records database.

``RecordsStore.session()`` opens one transaction. Everything done through the yielded
``RecordsSession`` commits together when the block ends normally, and is rolled back
entirely when it raises: a refused request leaves no row and no audit entry behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from records.audit import AuditEntry, AuditEvent
from records.jobs import Job
from records.model import (
    Agency,
    Branch,
    Document,
    DocumentVersion,
    Dossier,
    DossierStatus,
    HistoryEntry,
    PageText,
    Person,
    Procedure,
    Role,
    VersionStatus,
)

__all__ = [
    "DossierQuery",
    "RecordsSession",
    "RecordsStore",
    "Scope",
    "StoredToken",
    "User",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class User:
    """A login account: staff, citizen or agency client."""

    username: str
    password_hash: str
    display_name: str
    roles: frozenset[Role]
    agency_code: str | None = None
    branch_code: str | None = None
    owner_id: str | None = None
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredToken:
    token_sha256: str
    username: str
    created_at: datetime
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """Which dossiers a principal may see: those matching ANY of the sets."""

    branch_codes: frozenset[str] = frozenset()
    agency_codes: frozenset[str] = frozenset()
    applicant_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class DossierQuery:
    """Filters for listing dossiers. ``scope`` None means every dossier (administrators)."""

    scope: Scope | None
    statuses: frozenset[DossierStatus] | None = None
    procedure_code: str | None = None
    overdue_at: datetime | None = None  # only dossiers overdue at this moment
    limit: int = 50
    offset: int = 0


class RecordsSession(Protocol):
    # Reference data
    def add_agency(self, agency: Agency) -> None: ...
    def get_agency(self, code: str) -> Agency | None: ...
    def add_branch(self, branch: Branch) -> None: ...
    def get_branch(self, code: str) -> Branch | None: ...
    def list_branches(self) -> list[Branch]: ...
    def add_procedure(self, procedure: Procedure) -> None: ...
    def get_procedure(self, code: str) -> Procedure | None: ...
    def list_procedures(self) -> list[Procedure]: ...
    def save_person(self, person: Person) -> None: ...
    def get_person(self, owner_id: str) -> Person | None: ...
    def holidays(self) -> tuple[frozenset[date], frozenset[date]]: ...
    def set_holiday(self, day: date, name: str, *, working: bool = False) -> None: ...

    # Accounts
    def add_user(self, user: User) -> None: ...
    def get_user(self, username: str) -> User | None: ...
    def update_user(self, user: User) -> None: ...
    def add_token(self, token: StoredToken) -> None: ...
    def get_token(self, token_sha256: str) -> StoredToken | None: ...
    def revoke_token(self, token_sha256: str) -> None: ...

    # Dossiers
    def next_dossier_seq(self, agency_code: str, day: date) -> int: ...
    def add_dossier(self, dossier: Dossier) -> Dossier: ...
    def get_dossier(self, code: str) -> Dossier | None: ...
    def get_dossier_by_id(self, dossier_id: int) -> Dossier | None: ...
    def update_dossier(self, dossier: Dossier, *, expected_version: int) -> bool: ...
    def list_dossiers(self, query: DossierQuery) -> Sequence[Dossier]: ...
    def add_history(self, entry: HistoryEntry) -> None: ...
    def history(self, dossier_id: int) -> list[HistoryEntry]: ...

    # Documents
    def next_document_seq(self, agency_code: str, type_code: str) -> int: ...
    def add_document(self, document: Document) -> Document: ...
    def add_version(self, version: DocumentVersion) -> None: ...
    def set_version_outcome(self, document_id: int, version: int, *, status: VersionStatus,
                            archival_sha256: str | None = None, page_count: int | None = None,
                            resolution_dpi: int | None = None,
                            ocr_confidence: float | None = None, signed: bool = False,
                            failure: str | None = None, suggested: str | None = None
                            ) -> None: ...
    def save_pages(self, document_id: int, version: int, pages: Sequence[PageText]) -> None: ...
    def pages(self, document_id: int, version: int) -> list[PageText]: ...
    def suggested(self, document_id: int, version: int) -> str | None: ...
    def get_document(self, doc_code: str) -> Document | None: ...
    def get_document_by_id(self, document_id: int) -> Document | None: ...
    def documents_of(self, dossier_id: int) -> list[Document]: ...
    def ready_version_with_files(self, sha256s: Sequence[str]) -> tuple[int, int] | None: ...
    def blob_referenced(self, sha256: str) -> bool: ...

    # Jobs (created inside the records transaction that needs them)
    def add_job(self, *, kind: str, document_id: int, version: int, input_sha256: str,
                idem_key: str, max_attempts: int, now: datetime) -> Job: ...
    def get_job(self, job_id: int) -> Job | None: ...
    def jobs_for_document(self, document_id: int) -> list[Job]: ...

    # Audit chain
    def append_audit(self, event: AuditEvent, *, at: datetime, key: bytes) -> AuditEntry: ...
    def audit_entries(self, *, after_seq: int = 0) -> Iterator[AuditEntry]: ...
    def audit_head(self) -> tuple[int, str] | None: ...
    def audit_hash_exists(self, digest: str) -> bool: ...
    def audit_for_object(self, object_type: str, object_id: str) -> list[AuditEntry]: ...


class RecordsStore(Protocol):
    def session(self, *, readonly: bool = False) -> AbstractContextManager[RecordsSession]:
        ...
