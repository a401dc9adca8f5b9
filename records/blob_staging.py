"""Blobs stored ahead of the record that names them, with nothing orphaned by a failure.

A use case that produces a file (a rendered draft, a signed or sealed result, an archive
extension) must put the blob before committing the record that points at it: the other way
round, a record could name a blob that is not there. Between the two, a refusal (someone else
changed the result meanwhile) or a crash would leave a blob that nothing names.

So ``stage`` first writes an intent (its own small transaction: the sha256 and the time),
then puts the blob; ``settle`` runs once the record has committed or failed: it removes the
intent and, unless a record or another intent names the blob, deletes the blob. A crash
between the put and ``settle`` leaves the intent behind; ``sweep`` (the scheduler's round)
settles intents older than a few minutes, the same way.

Content addressing makes "unless something names it" the whole rule: the same bytes staged
twice share one blob, and the blob stays while either needs it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from records.ports import BlobRef, BlobStore, BlobStoreUnavailable, Clock
from records.repository import RecordsStore

__all__ = ["STALE_AFTER", "SWEEP_PAGE", "StagedBlob", "StagingDeps", "settle", "stage", "staged",
           "sweep"]

STALE_AFTER = timedelta(minutes=10)  # no use case holds a staged blob this long
SWEEP_PAGE = 200  # intents settled per sweep (a scheduler round)

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class StagingDeps:
    store: RecordsStore
    blobs: BlobStore
    clock: Clock


@dataclass(frozen=True, kw_only=True, slots=True)
class StagedBlob:
    intent_id: int
    ref: BlobRef


def stage(deps: StagingDeps, data: bytes) -> StagedBlob:
    """Record the intent, then store ``data``; ``settle`` it once its record is decided."""
    sha256 = hashlib.sha256(data).hexdigest()
    with deps.store.session() as tx:
        intent_id = tx.add_blob_intent(sha256, deps.clock.now())
    try:
        ref = deps.blobs.put(data)
    except BaseException:
        _settle(deps, intent_id, sha256)
        raise
    return StagedBlob(intent_id=intent_id, ref=ref)


def settle(deps: StagingDeps, blob: StagedBlob) -> None:
    """The record is committed or abandoned: drop the intent, and the blob if nothing names
    it. Never raises: what it could not do (the store away) the next sweep does."""
    _settle(deps, blob.intent_id, blob.ref.sha256)


@contextmanager
def staged(deps: StagingDeps, data: bytes) -> Iterator[BlobRef]:
    """``stage`` on entry, ``settle`` on exit whatever happened in between."""
    blob = stage(deps, data)
    try:
        yield blob.ref
    finally:
        settle(deps, blob)


def sweep(deps: StagingDeps, *, now: datetime) -> int:
    """Settle the intents a crash left (older than ``STALE_AFTER``), a page of them a call;
    how many blobs went."""
    with deps.store.session(readonly=True) as tx:
        stale = tx.stale_blob_intents(before=now - STALE_AFTER, limit=SWEEP_PAGE)
    return sum(_settle(deps, intent_id, sha256) for intent_id, sha256 in stale)


def _settle(deps: StagingDeps, intent_id: int, sha256: str) -> bool:
    try:
        with deps.store.session() as tx:
            keep = tx.drop_blob_intent(intent_id) or tx.blob_referenced(sha256)
            if not keep:  # inside the transaction: if the store refuses, the intent stays
                deps.blobs.delete(sha256)
        return not keep
    except (BlobStoreUnavailable, PermissionError, OSError):
        log.exception("could not drop the unneeded blob %s; the next sweep tries again", sha256)
        return False
