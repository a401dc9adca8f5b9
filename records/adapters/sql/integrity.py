"""What the integrity sweep reads (``records.integrity``): every blob reference in pages keyed
by sha256, the results that carry signatures, and jobs that no runner is moving."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    and_,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from records.adapters.sql import tables as t
from records.integrity import BlobReference, CheckedResult, StuckJob
from records.jobs import JobState
from records.model import ResultStatus

__all__ = ["IntegrityRows"]

_D, _V, _F = t.documents.c, t.document_versions.c, t.document_files.c
_R, _J = t.results.c, t.jobs.c
_SIGNED = (ResultStatus.SIGNED.value, ResultStatus.SEALED.value, ResultStatus.ISSUED.value)


def _role(name: str) -> Any:
    return literal_column(f"'{name}'", String)


def _references() -> Any:
    """Every (sha256, size, object, role, version, position) a record points at."""
    no_int = cast(null(), Integer)
    doc_object = literal_column("'document:'", String) + _D.doc_code
    result_object = literal_column("'result:'", String) + _R.code
    originals = select(_F.sha256.label("sha256"), cast(_F.size, BigInteger).label("size"),
                       doc_object.label("object"), _role("original").label("role"),
                       _F.version.label("version"), _F.position.label("position")
                       ).join(t.documents, _D.id == _F.document_id)
    archival = select(_V.archival_sha256, cast(null(), BigInteger), doc_object,
                      _role("archival"), _V.version, no_int
                      ).join(t.documents, _D.id == _V.document_id
                             ).where(_V.archival_sha256.is_not(None))
    drafts = select(_R.draft_sha256, cast(null(), BigInteger), result_object, _role("draft"),
                    no_int, no_int)
    signed = select(_R.signed_sha256, cast(null(), BigInteger), result_object,
                    _role("signed"), no_int, no_int).where(_R.signed_sha256.is_not(None))
    current = select(_R.blob_sha256, cast(null(), BigInteger), result_object, _role("result"),
                     no_int, no_int)
    return union_all(originals, archival, drafts, signed, current).subquery("refs")


class IntegrityRows:
    """Session methods for the integrity sweep (mixed into ``SqlRecordsSession``)."""

    _c: Connection

    def blob_references(self, *, after: str, limit: int) -> list[BlobReference]:
        """Every reference to the first ``limit`` distinct blobs whose sha256 sorts after
        ``after``, ordered by sha256: the sweep pages through the store by key."""
        refs = _references()
        shas = select(refs.c.sha256).where(refs.c.sha256 > after).distinct() \
            .order_by(refs.c.sha256).limit(limit).subquery("page")
        rows = self._c.execute(select(refs).where(refs.c.sha256.in_(select(shas.c.sha256)))
                               .order_by(refs.c.sha256, refs.c.object, refs.c.role,
                                         refs.c.version, refs.c.position))
        return [BlobReference(sha256=r.sha256, size=r.size, object=r.object, role=r.role,
                              version=r.version, position=r.position) for r in rows]

    def results_to_verify(self, *, after_id: int, limit: int) -> list[CheckedResult]:
        rows = self._c.execute(select(_R.id, _R.code, _R.status, _R.blob_sha256).where(
            _R.id > after_id, _R.status.in_(_SIGNED)).order_by(_R.id).limit(limit))
        return [CheckedResult(id=r.id, code=r.code, status=r.status,
                              blob_sha256=r.blob_sha256) for r in rows]

    def stuck_jobs(self, *, before: datetime, limit: int) -> list[StuckJob]:
        """Jobs running on a lease that ran out before ``before``, due before ``before`` but
        never claimed, or quarantined (a person must look)."""
        abandoned = and_(_J.state == JobState.RUNNING.value, _J.lease_until < before)
        unclaimed = and_(_J.state.in_([JobState.QUEUED.value, JobState.FAILED.value]),
                         _J.not_before < before)
        quarantined = _J.state == JobState.QUARANTINED.value
        rows = self._c.execute(
            select(_J.id, _J.kind, _J.state, _J.lease_until, _J.not_before, _J.updated_at,
                   _J.attempts, _J.last_error, _D.doc_code)
            .join(t.documents, _D.id == _J.document_id)
            .where(or_(abandoned, unclaimed, quarantined)).order_by(_J.id).limit(limit))
        return [StuckJob(id=r.id, kind=r.kind, state=r.state, doc_code=r.doc_code,
                         since=(r.lease_until if r.state == JobState.RUNNING.value
                                else r.updated_at if r.state == JobState.QUARANTINED.value
                                else r.not_before),
                         attempts=r.attempts, last_error=r.last_error) for r in rows]
