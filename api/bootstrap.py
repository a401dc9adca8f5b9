"""The composition root: settings in, engines and services out. Nothing connects at import
time; everything is built here, once, by whoever starts the process (CLI, server, worker)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine

from api.ratelimit import LoginThrottle
from api.settings import Settings
from ocr_pipeline.engine import OcrOptions
from ocr_pipeline.inspector import IntakeInspector
from ocr_pipeline.intake import IntakeLimits
from ocr_pipeline.tasks import DigitiseDeps, digitise
from records.accounts import AccountsDeps
from records.adapters.blob_fs import FilesystemBlobStore
from records.adapters.blob_s3 import S3BlobStore
from records.adapters.clock import SystemClock
from records.adapters.indexer import OutboxPublisher
from records.adapters.jobs_celery import CeleryJobRunner, make_celery_app
from records.adapters.jobs_local import LocalJobRunner
from records.adapters.passwords import Argon2PasswordHasher
from records.adapters.sql import (
    SqlJobStore,
    SqlRecordsStore,
    create_engine_for,
    upgrade_schema,
)
from records.agency import AgencyDeps
from records.audit_writer import AuditWriter
from records.documents import OCR_JOB, DocumentDeps
from records.identifiers import DossierCodeFormat
from records.identity import IdentityProvider, LocalPasswords
from records.indexing import SearchDeps, publish_outbox
from records.jobs import JobDeps, JobRunner, run_job
from records.ports import BlobStore, Clock, SearchIndex
from records.results import ResultDeps
from records.services import RecordsDeps
from signing.service import ConfiguredTrust, DemoTrust, PadesService, ResultTemplate

__all__ = ["Services", "bootstrap"]


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    engine: Engine
    clock: Clock
    blobs: BlobStore
    records: RecordsDeps
    accounts: AccountsDeps
    jobs: JobDeps
    runner: JobRunner
    documents: DocumentDeps
    results: ResultDeps
    trust: DemoTrust | ConfiguredTrust
    search: SearchDeps
    agency: AgencyDeps
    indexer: OutboxPublisher
    login_throttle: LoginThrottle
    identity: IdentityProvider

    def start_background(self) -> None:
        """The embedded job runner, the indexer and the audit chainer, inside the service
        process."""
        self.runner.start()
        self.indexer.start()
        self.results.audit.start()

    def finish_jobs(self, job_ids: list[int], *, timeout: float) -> None:
        """Wait until the jobs have ended (running them here with the embedded runner, or
        watching the Celery workers), then index what they produced."""
        if isinstance(self.runner, LocalJobRunner):
            self.runner.wait_for(job_ids, timeout=timeout)
        else:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                states = self.jobs.jobs.job_states(set(job_ids))
                if all(states.get(j) in {"done", "quarantined"} for j in job_ids):
                    break
                time.sleep(0.5)
        publish_outbox(self.search)

    def close(self) -> None:
        self.results.audit.stop()
        self.indexer.stop()
        self.runner.stop()
        self.engine.dispose()


def _blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        return S3BlobStore(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                           secret_key=settings.s3_secret_key, bucket=settings.s3_bucket,
                           secure=settings.s3_secure, region=settings.s3_region,
                           object_lock=settings.s3_object_lock)
    return FilesystemBlobStore(settings.data_dir / "blobs")


def _runner(settings: Settings, jobs: JobDeps) -> JobRunner:
    if settings.job_backend == "celery":
        app = make_celery_app(settings.redis_url, run=partial(run_job, jobs),
                              visibility_timeout=settings.celery_visibility_timeout)
        return CeleryJobRunner(app)
    return LocalJobRunner(jobs, workers=settings.job_workers,
                          poll_seconds=settings.job_poll_seconds)


def _search_index(settings: Settings) -> SearchIndex:
    if settings.search_backend == "elastic":
        from elasticsearch import Elasticsearch

        from search.elastic_index import ElasticIndex

        return ElasticIndex(Elasticsearch(settings.elastic_url), settings.elastic_alias)
    from search.tantivy_index import TantivyIndex

    return TantivyIndex(settings.data_dir / "index")


def _trust(settings: Settings, clock: Clock) -> DemoTrust | ConfiguredTrust:
    if settings.pki == "configured":
        return ConfiguredTrust(anchors=settings.trust_anchors,
                               intermediates=settings.trust_intermediates,
                               tsa_url=settings.tsa_url,
                               soft_fail=settings.revocation_soft_fail)
    return DemoTrust(settings.data_dir / "pki", clock=clock.now)


def _identity(settings: Settings, accounts: AccountsDeps) -> IdentityProvider:
    # One provider today; an OIDC one (VNeID) would be another case, built from its own
    # settings block (docs/security.md).
    match settings.identity_provider:
        case "local":
            return LocalPasswords(accounts)


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
    blobs = _blob_store(settings)
    digitise_deps = DigitiseDeps(
        store=store, blobs=blobs, clock=clock, work_dir=settings.data_dir / "work",
        options=OcrOptions(jobs=settings.ocr_jobs,
                           review_threshold=settings.ocr_review_threshold),
        timeout_s=settings.ocr_timeout_seconds, memory_bytes=settings.ocr_memory_mib << 20)
    jobs = JobDeps(jobs=SqlJobStore(engine), clock=clock,
                   handlers={OCR_JOB: partial(digitise, digitise_deps)},
                   lease=timedelta(seconds=settings.job_lease_seconds),
                   backoff=timedelta(seconds=settings.job_backoff_seconds))
    runner = _runner(settings, jobs)
    inspector = IntakeInspector(IntakeLimits(max_bytes=settings.max_upload_bytes,
                                             max_pages=settings.max_pages,
                                             max_pixels=settings.max_pixels))
    trust = _trust(settings, clock)
    reads = AuditWriter(store, key=audit_key, clock=clock)  # records of reads: one inbox
    results = ResultDeps(
        store=store, clock=clock, audit_key=audit_key, audit=reads, blobs=blobs,
        renderer=ResultTemplate(),
        signing=PadesService(validation=trust.validation, timestamper=trust.timestamper),
        digest_key=hmac.new(settings.secret_key.encode(), b"result-qr-digest",
                            hashlib.sha256).digest(),
        public_base_url=settings.public_base_url, place=settings.province,
        retention=timedelta(days=365 * settings.result_retention_years))
    search = SearchDeps(store=store, clock=clock, index=_search_index(settings))
    accounts = AccountsDeps(store=store, clock=clock, hasher=hasher, audit_key=audit_key,
                            token_ttl=timedelta(minutes=settings.token_ttl_minutes))
    return Services(
        settings=settings,
        results=results,
        search=search,
        agency=AgencyDeps(store=store, clock=clock, audit_key=audit_key),
        indexer=OutboxPublisher(search),
        trust=trust,
        engine=engine,
        clock=clock,
        blobs=blobs,
        jobs=jobs,
        runner=runner,
        documents=DocumentDeps(store=store, clock=clock, audit_key=audit_key, audit=reads,
                               blobs=blobs, inspector=inspector, runner=runner,
                               max_attempts=settings.job_max_attempts),
        records=RecordsDeps(store=store, clock=clock, audit_key=audit_key,
                            code_format=DossierCodeFormat(template=settings.dossier_code_format),
                            supplement_window_days=settings.supplement_window_days),
        accounts=accounts,
        identity=_identity(settings, accounts),
        login_throttle=LoginThrottle(limit=settings.login_rate_per_minute,
                                     window=timedelta(minutes=1), clock=clock),
    )
