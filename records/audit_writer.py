"""Records of reads: on record before the answer leaves, onto the chain a moment later.

Every audit entry links to the one before it, so appending one locks the chain's head until
the transaction commits. A change appends its entry inside its own transaction (the entry and
the change commit together). A read changes nothing; under load, hundreds of downloads and
public checks a second would queue one by one on the head's lock, each holding it for
several round trips, and that queue was the API's latency (docs/scale.md).

So a read's record goes in two steps:

1. ``AuditWriter.append`` inserts it into the inbox (``audit_inbox``), taking no lock, and
   returns once that insert has committed: a file is never served whose access is not on
   record, and a failure to record (the database unreachable) is the caller's error. Entries
   that arrive together are inserted together (leader/follower group commit: whoever takes
   the writer's turn writes all that is pending; the others find theirs written).
2. A chainer moves inbox rows onto the chain in batches, in arrival order, each with the time
   of its read: the background thread ``start()`` runs in a serving process (woken by an
   append, it gathers for a tenth of a second; unwoken, it looks every five seconds for rows
   a stopped process left), or, where none runs (the CLI, the embedded job runner, tests),
   the appending caller itself, at once. Several processes may chain at once: one that finds
   the head locked (by another chainer, or a change appending) tries again later.

Until chained, a record is durable but not yet tamper-evident; ``motcua check`` reports any
that waited over a minute (no chainer running).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from records.audit import AuditEvent
from records.ports import Clock
from records.repository import RecordsStore

__all__ = ["CHAIN_BATCH", "AuditWriter"]

CHAIN_BATCH = 500  # inbox rows moved onto the chain per transaction
CHAIN_GATHER = 0.1  # seconds a woken chainer waits for more reads to move in one batch
CHAIN_EVERY = 5.0  # seconds between looks when not woken (rows a stopped process left)

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class _Pending:
    event: AuditEvent
    at: datetime
    written: bool = False
    error: BaseException | None = None


class AuditWriter:
    """Records reads through the inbox, batching those that arrive together."""

    def __init__(self, store: RecordsStore, *, key: bytes, clock: Clock) -> None:
        self._store = store
        self._key = key
        self._clock = clock
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()  # one batch of this process at the inbox at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._chainer: threading.Thread | None = None
        self._appended = False  # a process chains, when it stops, what it put in the inbox

    def append(self, event: AuditEvent) -> None:
        """Record ``event``; returns once it is committed, raises if it could not be."""
        mine = _Pending(event=event, at=self._clock.now())
        self._appended = True
        with self._queue_lock:
            self._queue.append(mine)
        with self._turn:
            if not mine.written:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if mine.error is not None:
            raise mine.error
        if self._chainer is None:
            self.flush()
        else:
            self._wake.set()

    def read(self, actor: str, action: str, object_type: str, object_id: str,
             **detail: str | int | None) -> None:
        """Record a read (``append`` of the event it makes)."""
        self.append(AuditEvent(actor=actor, action=action, object_type=object_type,
                               object_id=object_id, detail=detail))

    def chain(self, *, limit: int = CHAIN_BATCH) -> int:
        """Move up to ``limit`` waiting records onto the chain; how many were moved (0 when
        none wait or another chainer holds the head)."""
        with self._store.session() as tx:
            return tx.chain_queued_audits(key=self._key, limit=limit)

    def flush(self) -> None:
        """Chain every record waiting now (those of other processes too)."""
        while self.chain() == CHAIN_BATCH:
            pass

    def start(self) -> None:
        """Chain in a background thread from now on (a serving process)."""
        if self._chainer is not None:
            return
        self._stop.clear()
        self._chainer = threading.Thread(target=self._run, name="audit-chainer", daemon=True)
        self._chainer.start()

    def stop(self) -> None:
        """Stop the background chainer, then chain what is left (when this process appended
        or chained: a command that only looks, such as ``motcua check``, changes nothing)."""
        chainer, self._chainer = self._chainer, None
        if chainer is not None:
            self._stop.set()
            self._wake.set()
            chainer.join()
        elif not self._appended:
            return
        try:
            self.flush()
        except Exception:  # the database gone at shutdown: the next chainer takes them
            log.exception("records of reads left in the inbox for the next chainer")

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(CHAIN_EVERY):
                self._stop.wait(CHAIN_GATHER)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database away for a moment: the rows wait, durable
                log.exception("could not move records of reads onto the audit chain")
                self._stop.wait(CHAIN_EVERY)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self._store.session() as tx:
                tx.queue_audits([(pending.event, pending.at) for pending in batch])
        except BaseException as exc:  # every waiter of the batch learns it was not recorded
            for pending in batch:
                pending.error = exc
                pending.written = True
            return
        for pending in batch:
            pending.written = True
