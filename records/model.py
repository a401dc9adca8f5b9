"""The content model: agencies, procedures, people, dossiers and what a dossier contains.

Containment follows the paper world (and Plone's folders): a dossier contains its documents,
each document its immutable versions, and the dossier its result. Everything here is a
frozen value; use cases build changed copies with ``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

__all__ = [
    "Agency",
    "Box",
    "Branch",
    "CertificateKind",
    "CertificateRecord",
    "CopyKind",
    "Document",
    "DocumentVersion",
    "Dossier",
    "DossierStatus",
    "HistoryEntry",
    "PageText",
    "Person",
    "PersonKind",
    "Procedure",
    "Rating",
    "RequiredComponent",
    "Result",
    "ResultStatus",
    "ReuseStatus",
    "Role",
    "SealAuthorisation",
    "StoreItem",
    "StoreStatus",
    "StoredFile",
    "VersionStatus",
]


class Role(StrEnum):
    """Global roles. ``handler`` and ``signer`` are also local roles on a dossier."""

    CLERK = "clerk"
    HANDLER = "handler"
    SIGNER = "signer"
    SEAL_CUSTODIAN = "seal_custodian"
    ADMIN = "admin"
    CITIZEN = "citizen"
    AGENCY = "agency"


class DossierStatus(StrEnum):
    """Internal states; ``national_code`` is the one-stop status code (1 to 10)."""

    SUBMITTED = "submitted"
    RECEIVED = "received"
    REFUSED_AT_INTAKE = "refused_at_intake"
    INCOMPLETE_AT_INTAKE = "incomplete_at_intake"
    DIGITISED = "digitised"
    IN_REVIEW = "in_review"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    FEE_REQUESTED = "fee_requested"
    PENDING_APPROVAL = "pending_approval"
    SIGNED = "signed"
    SEALED = "sealed"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    WITHDRAWAL_REQUESTED = "withdrawal_requested"
    STOPPED = "stopped"
    REFUSED = "refused"


class PersonKind(StrEnum):
    CITIZEN = "citizen"  # 12-digit personal id
    ORGANISATION = "organisation"  # 10/13-digit tax code


class CopyKind(StrEnum):
    """Whether the paper handed in is the original, a plain copy or a certified copy."""

    ORIGINAL = "original"
    COPY = "copy"
    CERTIFIED_COPY = "certified_copy"


class ReuseStatus(StrEnum):
    NEW = "new"
    REUSED_FROM_STORE = "reused_from_store"
    REUSED_FROM_RESULT = "reused_from_result"


class ResultStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    SEALED = "sealed"
    ISSUED = "issued"
    REVOKED = "revoked"


@dataclass(frozen=True, kw_only=True, slots=True)
class Agency:
    """A state agency, known by its e-ID code in the national portal (mã định danh)."""

    code: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Branch:
    """A receiving desk: the provincial centre or one of its district and commune branches."""

    code: str
    name: str
    agency_code: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RequiredComponent:
    """One paper a procedure requires (thành phần hồ sơ)."""

    code: str
    name: str
    document_type: str
    mandatory: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) as published in the national list."""

    code: str
    name: str
    agency_code: str
    processing_days: int
    components: tuple[RequiredComponent, ...] = ()
    fee_vnd: int = 0
    result_type: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Person:
    """A citizen (12-digit personal id) or an organisation (tax code)."""

    owner_id: str
    name: str
    kind: PersonKind = PersonKind.CITIZEN
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Dossier:
    """A dossier (hồ sơ). ``due_at`` is stored; being overdue is derived from it and now.

    ``clock_started_at`` is when the processing clock last (re)started: on receipt, and again
    when a requested supplement is supplied [Decree 61/2018 Art. 19].
    """

    id: int
    code: str
    procedure_code: str
    agency_code: str
    branch_code: str
    applicant_id: str
    status: DossierStatus
    created_at: datetime
    created_by: str
    received_at: datetime | None = None
    clock_started_at: datetime | None = None
    due_at: datetime | None = None
    extended_at: datetime | None = None
    finished_at: datetime | None = None
    handler: str | None = None
    signer: str | None = None
    online: bool = False
    version: int = 1


class VersionStatus(StrEnum):
    """Where a document version is in digitisation."""

    PROCESSING = "processing"  # the original is kept; OCR is queued or running
    READY = "ready"  # the archival copy and the text exist
    FAILED = "failed"  # OCR gave up; the original is kept and a clerk must look


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredFile:
    """One untouched original file of a version, as uploaded (evidence: never modified)."""

    position: int
    sha256: str
    size: int
    media_type: str
    filename: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PageText:
    """What OCR read on one page, and whether a person should look at it."""

    number: int
    text: str
    confidence: float | None  # mean word confidence, 0-100; None where no OCR ran
    needs_review: bool
    ocr_done: bool  # False: the page already carried text (or the PDF is signed)


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentVersion:
    """One immutable version of a digitised paper: its originals, archival copy and text."""

    document_id: int
    version: int
    status: VersionStatus
    files: tuple[StoredFile, ...]
    created_at: datetime
    created_by: str
    archival_sha256: str | None = None
    page_count: int | None = None
    resolution_dpi: int | None = None
    ocr_confidence: float | None = None
    signed: bool = False  # a signed PDF: kept as it is, its text extracted beside it
    failure: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Document:
    """A paper of a dossier, with the metadata the digitisation rules require.

    [Circular 01/2023 Art. 8; 2025 national digitisation guidance]
    """

    id: int
    dossier_id: int
    doc_code: str
    component_code: str
    document_type: str
    owner_id: str
    created_at: datetime
    created_by: str
    title: str = ""
    number: str | None = None
    issue_date: date | None = None
    issuer: str | None = None
    copy_kind: CopyKind = CopyKind.COPY
    reuse_status: ReuseStatus = ReuseStatus.NEW
    reuse_source: str | None = None  # the store item's ref a reused paper came from
    retention_years: int | None = None  # None: permanent
    versions: tuple[DocumentVersion, ...] = field(default=())


Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points, origin bottom-left


@dataclass(frozen=True, kw_only=True, slots=True)
class Result:
    """The e-result of a dossier (kết quả giải quyết), from draft to sealed.

    ``blob_sha256`` is the current file: the draft, then the personally signed PDF, then
    the sealed one; each earlier file stays in the blob store. ``digest`` binds ``code`` to
    the draft's content for the public verification page (printed in the QR code).
    """

    id: int
    dossier_id: int
    code: str
    result_type: str
    title: str
    status: ResultStatus
    created_at: datetime
    created_by: str
    number: str
    issue_date: date
    draft_sha256: str
    blob_sha256: str
    content_sha256: str
    signed_sha256: str | None = None
    digest: str
    page_count: int
    signature_page: int
    personal_box: Box
    seal_box: Box
    signer_name: str = ""
    signer_title: str = ""
    signed_by: str | None = None
    signed_at: datetime | None = None
    sealed_by: str | None = None
    sealed_at: datetime | None = None
    seal_certificate_id: int | None = None


class StoreStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreItem:
    """A paper or e-result the state holds for its owner, offered for reuse while valid
    [Decree 45/2020 Art. 16 as amended: the electronic data store]."""

    id: int
    owner_id: str
    kind: str  # "document" | "result"
    ref: str  # the document's doc_code or the result's code
    document_type: str
    title: str
    source_dossier: str
    status: StoreStatus
    created_at: datetime
    issuer: str = ""
    number: str | None = None
    issue_date: date | None = None
    expiry_date: date | None = None

    def reusable(self, on: date) -> bool:
        return self.status is StoreStatus.VALID and (self.expiry_date is None
                                                     or self.expiry_date >= on)


class CertificateKind(StrEnum):
    PERSONAL = "personal"  # an official's own certificate
    ORGANISATION = "organisation"  # the agency's certificate: the (second) seal


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateRecord:
    """A signing certificate the centre knows, and where its key lives.

    ``store`` is ``pkcs12`` (``location`` is the file) or ``pkcs11`` (``location`` is the
    module, ``label`` the token label); the PIN or passphrase is never stored.
    """

    id: int
    kind: CertificateKind
    fingerprint: str  # sha256 of the DER certificate
    subject: str
    organisation: str
    serial: str
    issuer: str
    not_before: datetime
    not_after: datetime
    pem: str
    store: str
    location: str
    label: str = ""
    owner_username: str | None = None  # personal certificates
    agency_code: str | None = None  # organisation certificates
    active: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class SealAuthorisation:
    """Who may apply an agency's organisational certificate, from when to when, under which
    written authorisation and handover minutes (the second seal model, DOMAIN.md)."""

    id: int
    agency_code: str
    certificate_id: int
    custodian_username: str
    valid_from: datetime
    valid_to: datetime
    reference: str  # the written authorisation (number, date)
    handover_reference: str  # the handover minutes
    granted_by: str
    granted_at: datetime

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_to


@dataclass(frozen=True, kw_only=True, slots=True)
class Rating:
    """A citizen's satisfaction evaluation of a finished dossier (1 to 5)."""

    dossier_id: int
    owner_id: str
    score: int
    comment: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class HistoryEntry:
    """One recorded step of a dossier: who, when, from, to, and why."""

    dossier_id: int
    at: datetime
    actor: str
    action: str
    from_status: DossierStatus | None
    to_status: DossierStatus
    comment: str = ""
