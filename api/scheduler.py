"""The scheduler's periodic work (``motcua scheduler``): one round is ``run_once``.

A round does what no user request triggers:
- records, once per due date, each dossier that has become overdue (an audit entry
  ``dossier.overdue`` by ``system``; an extension gives a new due date, so a dossier late
  again after its extension is recorded again) [Decree 61/2018 Art. 19: overdue dossiers
  are flagged and apologised for];
- chooses the sealed results whose signing certificates expire soon and that were not
  extended recently, and adds an archive timestamp (PAdES B-LTA, ETSI EN 319 142-1 §6.5):
  inline with the embedded job backend, through the ``sign`` queue with Celery;
- with Celery, republishes the jobs the database says are due (the sweeper's work), so that
  a job lost between commit and publish runs even while no worker sweeps;
- drops the blobs a crash stored for a record that never committed (the intents left
  behind, records.blob_staging).

Rounds are idempotent: running two schedulers, or one twice, records nothing twice except a
second archive timestamp on a result both chose in the same instant (harmless: each is a
valid B-LTA extension).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.bootstrap import Services
from records.adapters.jobs_celery import CeleryJobRunner, Sweeper
from records.audit import AuditEvent
from records.blob_staging import StagingDeps
from records.blob_staging import sweep as sweep_staged
from records.model import ResultStatus
from records.repository import DossierQuery
from records.results import extend_archives

__all__ = ["RoundReport", "SchedulerPolicy", "archive_candidates", "run_once"]

log = logging.getLogger(__name__)

OVERDUE_ACTION = "dossier.overdue"
ARCHIVE_ACTION = "result.archive_extend"
_PAGE = 500


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulerPolicy:
    # Extend results whose personal or seal certificate expires within this window.
    archive_within: timedelta = timedelta(days=90)
    # A result extended more recently than this is left alone: its archive timestamp is
    # young (a TSA certificate lives years), and a daily round must not stack timestamps.
    archive_renew_after: timedelta = timedelta(days=365)
    archive: bool = True
    overdue: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class RoundReport:
    at: datetime
    overdue_recorded: tuple[str, ...] = ()
    archive_chosen: tuple[str, ...] = ()
    archive_extended: tuple[str, ...] = ()
    archive_failed: tuple[tuple[str, str], ...] = ()
    archive_enqueued: bool = False
    jobs_republished: int = 0
    blobs_dropped: int = 0
    errors: tuple[str, ...] = field(default=())


def run_once(services: Services, now: datetime,
             policy: SchedulerPolicy = SchedulerPolicy()) -> RoundReport:
    """One round of the scheduler's work at ``now``. A failing part is reported in
    ``errors`` and does not stop the others."""
    errors: list[str] = []
    overdue: tuple[str, ...] = ()
    if policy.overdue:
        try:
            overdue = record_overdue(services, now)
        except Exception as exc:  # the database briefly away: the next round catches up
            log.exception("overdue round failed")
            errors.append(f"overdue: {exc}")
    chosen: tuple[str, ...] = ()
    extended: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    enqueued = False
    if policy.archive:
        try:
            chosen = archive_candidates(services, now, policy)
            if chosen and isinstance(services.runner, CeleryJobRunner):
                services.runner.submit_archive_extension(list(chosen))
                enqueued = True
            elif chosen:
                # ``codes`` is never empty here: empty would mean "every candidate".
                done = extend_archives(services.results, within=policy.archive_within,
                                       codes=chosen)
                extended = tuple(d.code for d in done if d.extended)
                failed = tuple((d.code, d.message) for d in done if not d.extended)
        except Exception as exc:
            log.exception("archive round failed")
            errors.append(f"archive: {exc}")
    republished = 0
    if isinstance(services.runner, CeleryJobRunner):
        try:
            republished = Sweeper(services.jobs, services.runner).sweep()
        except Exception as exc:
            log.exception("job sweep failed")
            errors.append(f"jobs: {exc}")
    dropped = 0
    try:
        dropped = sweep_staged(StagingDeps(store=services.results.store,
                                           blobs=services.blobs, clock=services.clock), now=now)
    except Exception as exc:
        log.exception("blob sweep failed")
        errors.append(f"blobs: {exc}")
    return RoundReport(at=now, overdue_recorded=overdue, archive_chosen=chosen,
                       archive_extended=extended, archive_failed=failed,
                       archive_enqueued=enqueued, jobs_republished=republished,
                       blobs_dropped=dropped, errors=tuple(errors))


def record_overdue(services: Services, now: datetime) -> tuple[str, ...]:
    """Audit each dossier overdue at ``now`` not yet recorded for its current due date."""
    deps = services.records
    fresh: list[tuple[str, str]] = []
    offset = 0
    with deps.store.session(readonly=True) as tx:
        while True:
            page = tx.list_dossiers(DossierQuery(scope=None, overdue_at=now, limit=_PAGE,
                                                 offset=offset))
            for dossier in page:
                if dossier.due_at is None:
                    continue
                due = dossier.due_at.isoformat()
                seen = any(e.action == OVERDUE_ACTION and json.loads(e.detail).get("due_at")
                           == due for e in tx.audit_for_object("dossier", dossier.code))
                if not seen:
                    fresh.append((dossier.code, due))
            if len(page) < _PAGE:
                break
            offset += _PAGE
    if fresh:
        with deps.store.session() as tx:
            for code, due in fresh:
                tx.append_audit(AuditEvent(actor="system", action=OVERDUE_ACTION,
                                           object_type="dossier", object_id=code,
                                           detail={"due_at": due}),
                                at=now, key=deps.audit_key)
    return tuple(code for code, _ in fresh)


def archive_candidates(services: Services, now: datetime,
                       policy: SchedulerPolicy) -> tuple[str, ...]:
    """Sealed or issued results whose certificates expire within ``archive_within`` of
    ``now`` and whose last archive extension (if any) is older than
    ``archive_renew_after`` (the selection of ``records.results.extend_archives``, plus
    the renewal rule)."""
    chosen = []
    with services.results.store.session(readonly=True) as tx:
        for result in tx.results_in(frozenset({ResultStatus.SEALED, ResultStatus.ISSUED})):
            certificates = [tx.get_certificate(result.seal_certificate_id)
                            if result.seal_certificate_id else None]
            certificates += tx.certificates(owner_username=result.signed_by or "")
            expiries = [c.not_after for c in certificates if c is not None]
            expires = min(expiries) if expiries else now
            if expires > now + policy.archive_within:
                continue
            last = max((e.at for e in tx.audit_for_object("result", result.code)
                        if e.action == ARCHIVE_ACTION), default=None)
            if last is None or last <= now - policy.archive_renew_after:
                chosen.append(result.code)
    return tuple(chosen)
