"""The composition root: settings in, engines and services out. Nothing connects at import
time; everything is built here, once, by whoever starts the process (CLI, server, worker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from api.settings import Settings
from records.accounts import AccountsDeps
from records.adapters.blob_fs import FilesystemBlobStore
from records.adapters.blob_s3 import S3BlobStore
from records.adapters.clock import SystemClock
from records.adapters.passwords import Argon2PasswordHasher
from records.adapters.sql import SqlRecordsStore, create_engine_for, upgrade_schema
from records.identifiers import DossierCodeFormat
from records.ports import BlobStore, Clock
from records.services import RecordsDeps

__all__ = ["Services", "bootstrap"]


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    engine: Engine
    clock: Clock
    blobs: BlobStore
    records: RecordsDeps
    accounts: AccountsDeps

    def close(self) -> None:
        self.engine.dispose()


def _blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        return S3BlobStore(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                           secret_key=settings.s3_secret_key, bucket=settings.s3_bucket,
                           secure=settings.s3_secure, region=settings.s3_region,
                           object_lock=settings.s3_object_lock)
    return FilesystemBlobStore(settings.data_dir / "blobs")


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None,
              migrate: bool = True) -> Services:
    """Build every service from ``settings``; with ``migrate`` the schema is brought up to
    date first (the embedded default needs no separate step)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(settings.resolved_database_url)
    if migrate:
        upgrade_schema(engine)
    clock = clock or SystemClock()
    store = SqlRecordsStore(engine)
    audit_key = settings.audit_key.encode("utf-8")
    hasher = Argon2PasswordHasher(time_cost=settings.password_time_cost,
                                  memory_cost=settings.password_memory_kib)
    return Services(
        settings=settings,
        engine=engine,
        clock=clock,
        blobs=_blob_store(settings),
        records=RecordsDeps(store=store, clock=clock, audit_key=audit_key,
                            code_format=DossierCodeFormat(template=settings.dossier_code_format),
                            supplement_window_days=settings.supplement_window_days),
        accounts=AccountsDeps(store=store, clock=clock, hasher=hasher, audit_key=audit_key,
                              token_ttl=timedelta(minutes=settings.token_ttl_minutes)),
    )
