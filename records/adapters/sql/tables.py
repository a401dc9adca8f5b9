"""The records schema as SQLAlchemy Core tables. Alembic migrations are the source of truth
for the database; ``tests/integration/test_migrations.py`` checks the two agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

__all__ = ["metadata"]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the records store")
        utc = value.astimezone(UTC)
        # SQLite keeps no zone: store naive UTC there.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value)}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

agencies = Table(
    "agencies", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(300), nullable=False),
)

branches = Table(
    "branches", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("agency_code", String(40), ForeignKey("agencies.code"), nullable=False),
)

procedures = Table(
    "procedures", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("agency_code", String(40), ForeignKey("agencies.code"), nullable=False),
    Column("processing_days", Integer, nullable=False),
    Column("fee_vnd", BigInteger, nullable=False, default=0),
    Column("result_type", String(200), nullable=False, default=""),
)

procedure_components = Table(
    "procedure_components", metadata,
    Column("procedure_code", String(40), ForeignKey("procedures.code"), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String(500), nullable=False),
    Column("document_type", String(80), nullable=False),
    Column("mandatory", Boolean, nullable=False, default=True),
)

persons = Table(
    "persons", metadata,
    Column("owner_id", String(13), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("phone", String(20)),
    Column("email", String(200)),
    Column("address", String(500)),
)

users = Table(
    "users", metadata,
    Column("username", String(80), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("roles", String(200), nullable=False),  # comma-separated Role values
    Column("agency_code", String(40), ForeignKey("agencies.code")),
    Column("branch_code", String(40), ForeignKey("branches.code")),
    Column("owner_id", String(13)),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime),
    Column("totp_secret", String(64)),  # base32; set when the user enrols a second factor
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_sha256", String(64), primary_key=True),  # the token itself is never stored
    Column("username", String(80), ForeignKey("users.username"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

holidays = Table(
    "holidays", metadata,
    Column("day", Date, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("working", Boolean, nullable=False, default=False),  # a swapped working weekend day
)

dossier_counters = Table(
    "dossier_counters", metadata,
    Column("agency_code", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

dossiers = Table(
    "dossiers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("procedure_code", String(40), ForeignKey("procedures.code"), nullable=False),
    Column("agency_code", String(40), ForeignKey("agencies.code"), nullable=False),
    Column("branch_code", String(40), ForeignKey("branches.code"), nullable=False),
    Column("applicant_id", String(13), ForeignKey("persons.owner_id"), nullable=False),
    Column("status", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("received_at", UtcDateTime),
    Column("clock_started_at", UtcDateTime),
    Column("due_at", UtcDateTime),
    Column("extended_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("handler", String(80)),
    Column("signer", String(80)),
    Column("online", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False),
    Index("ix_dossiers_applicant", "applicant_id"),
    Index("ix_dossiers_branch_status", "branch_code", "status"),
    Index("ix_dossiers_agency_status", "agency_code", "status"),
    # Statistics by period: dossiers received, and finished, within a date range.
    Index("ix_dossiers_received", "received_at"),
    Index("ix_dossiers_finished", "finished_at"),
)

dossier_history = Table(
    "dossier_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", Integer, ForeignKey("dossiers.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False),
    Column("from_status", String(40)),
    Column("to_status", String(40), nullable=False),
    Column("comment", Text, nullable=False, default=""),
)

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", Integer, ForeignKey("dossiers.id"), nullable=False, index=True),
    Column("doc_code", String(100), nullable=False, unique=True),
    Column("component_code", String(40), nullable=False),
    Column("document_type", String(80), nullable=False),
    Column("owner_id", String(13), nullable=False, index=True),
    Column("title", String(500), nullable=False, default=""),
    Column("number", String(100)),
    Column("issue_date", Date),
    Column("issuer", String(300)),
    Column("copy_kind", String(20), nullable=False),
    Column("reuse_status", String(30), nullable=False),
    Column("retention_years", Integer),
    Column("reuse_source", String(120)),  # the store item a reused paper came from
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
)

document_versions = Table(
    "document_versions", metadata,
    Column("document_id", Integer, ForeignKey("documents.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("archival_sha256", String(64), index=True),
    Column("page_count", Integer),
    Column("resolution_dpi", Integer),
    Column("ocr_confidence", Float),
    Column("signed", Boolean, nullable=False, default=False),
    Column("failure", Text),
    Column("suggested", Text),  # JSON: metadata read from the text, for the clerk to confirm
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
)

# The untouched originals of a version, in page order: evidence, never modified.
document_files = Table(
    "document_files", metadata,
    Column("document_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    ForeignKeyConstraint(["document_id", "version"],
                         ["document_versions.document_id", "document_versions.version"]),
)

document_pages = Table(
    "document_pages", metadata,
    Column("document_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("confidence", Float),
    Column("needs_review", Boolean, nullable=False),
    Column("ocr_done", Boolean, nullable=False),
    ForeignKeyConstraint(["document_id", "version"],
                         ["document_versions.document_id", "document_versions.version"]),
)

document_counters = Table(
    "document_counters", metadata,
    Column("agency_code", String(40), primary_key=True),
    Column("type_code", String(80), primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

results = Table(
    "results", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", Integer, ForeignKey("dossiers.id"), nullable=False),
    Column("code", String(80), nullable=False, unique=True),
    Column("result_type", String(200), nullable=False),
    Column("title", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("number", String(100), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("draft_sha256", String(64), nullable=False),
    Column("blob_sha256", String(64), nullable=False),
    Column("signed_sha256", String(64)),  # after the personal signature, before the seal
    Column("content_sha256", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("signature_page", Integer, nullable=False),
    Column("personal_box", String(100), nullable=False),  # "x1,y1,x2,y2" in points
    Column("seal_box", String(100), nullable=False),
    Column("signer_name", String(200), nullable=False, default=""),
    Column("signer_title", String(300), nullable=False, default=""),
    Column("signed_by", String(80)),
    Column("signed_at", UtcDateTime),
    Column("sealed_by", String(80)),
    Column("sealed_at", UtcDateTime),
    Column("seal_certificate_id", Integer, ForeignKey("certificates.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
    UniqueConstraint("dossier_id"),
)

result_counters = Table(
    "result_counters", metadata,
    Column("agency_code", String(40), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

certificates = Table(
    "certificates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("subject", String(300), nullable=False),
    Column("organisation", String(300), nullable=False),
    Column("serial", String(100), nullable=False),
    Column("issuer", String(300), nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("pem", Text, nullable=False),
    Column("store", String(20), nullable=False),
    Column("location", String(500), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("owner_username", String(80), ForeignKey("users.username")),
    Column("agency_code", String(40), ForeignKey("agencies.code")),
    Column("active", Boolean, nullable=False, default=True),
)

seal_authorisations = Table(
    "seal_authorisations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency_code", String(40), ForeignKey("agencies.code"), nullable=False),
    Column("certificate_id", Integer, ForeignKey("certificates.id"), nullable=False),
    Column("custodian_username", String(80), ForeignKey("users.username"), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=False),
    Column("reference", String(300), nullable=False),
    Column("handover_reference", String(300), nullable=False),
    Column("granted_by", String(80), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(100), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index("ix_audit_object", "object_type", "object_id"),
)

# Records of reads waiting for the chain (records.audit_writer): a download or a public check
# inserts here, taking no lock, and a chainer moves rows onto audit_log in batches.
audit_inbox = Table(
    "audit_inbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(100), nullable=False),
    Column("detail", Text, nullable=False),
)

# A blob about to be stored for a record not yet committed (records.blob_staging): written
# before the put, removed once the record commits or the blob is dropped; one left behind
# names the blob a crash may have orphaned.
blob_intents = Table(
    "blob_intents", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Durable jobs: the database is the truth about work; a broker only carries job ids.
jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("input_sha256", String(64), nullable=False),
    # Idempotency: one job per (document version, step, input).
    Column("idem_key", String(200), nullable=False, unique=True),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("progress_done", Integer, nullable=False, default=0),
    Column("progress_total", Integer, nullable=False, default=0),
    # The blob an attempt is about to store: a later attempt removes it if it was orphaned.
    Column("pending_output", String(64)),
    Index("ix_jobs_state_not_before", "state", "not_before"),
)

# The transactional outbox: written in the same transaction as the records it names, read by
# the indexer after the commit. The search index is derived data, rebuilt from the records.
outbox = Table(
    "outbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("doc_id", String(160), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime),
    Index("ix_outbox_pending", "processed_at", "id"),
)

# The citizen's electronic data store (kho quản lý dữ liệu điện tử) [Decree 45/2020 Art. 16].
store_items = Table(
    "store_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", String(13), nullable=False),
    Column("kind", String(20), nullable=False),  # document | result
    Column("ref", String(120), nullable=False, unique=True),  # doc_code or result code
    Column("document_type", String(80), nullable=False),
    Column("title", String(500), nullable=False),
    Column("issuer", String(300), nullable=False, default=""),
    Column("number", String(100)),
    Column("issue_date", Date),
    Column("expiry_date", Date),
    Column("source_dossier", String(60), nullable=False),
    Column("status", String(20), nullable=False),  # valid | revoked | superseded
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_store_items_owner_type", "owner_id", "document_type", "status"),
)

# Which procedures an agency client may query reusable documents for.
agency_scopes = Table(
    "agency_scopes", metadata,
    Column("username", String(80), ForeignKey("users.username"), primary_key=True),
    Column("procedure_code", String(40), ForeignKey("procedures.code"), primary_key=True),
)

# One row: the chain's last seq and hash. Appenders lock it, which serialises the chain.
idempotency_keys = Table(
    # A form or client sent twice with the same key gets the first answer back.
    "idempotency_keys", metadata,
    Column("username", String(80), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("dossier_code", String(60), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

ratings = Table(
    # The citizen's satisfaction evaluation of a finished dossier, one per dossier.
    "ratings", metadata,
    Column("dossier_id", Integer, ForeignKey("dossiers.id"), primary_key=True),
    Column("owner_id", String(13), nullable=False),
    Column("score", Integer, nullable=False),  # 1 (very dissatisfied) to 5 (very satisfied)
    Column("comment", String(1000), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
