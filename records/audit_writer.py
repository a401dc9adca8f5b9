"""Group commit for records of reads: many requests' audit entries, one turn at the chain.

Every audit entry links to the one before it, so appending one locks the chain's head until
the transaction commits. A change appends its entry inside its own transaction (the entry and
the change commit together). A read changes nothing, so its entry needs no transaction of its
own: under load, hundreds of downloads and public checks a second would otherwise queue one
by one on the head's lock, each holding it for several round trips.

``AuditWriter.append`` writes the caller's entry together with every entry that other threads
of this process are waiting to write, in one transaction, and returns once that transaction
has committed: a caller never serves a file whose access is not yet on record, and a failure
to record (the database unreachable) reaches every caller of the batch as its own error.

The technique is the classic leader/follower group commit: whoever takes the writer's turn
writes all that is pending; the others find their entries written when their turn comes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from records.audit import AuditEvent
from records.ports import Clock
from records.repository import RecordsStore

__all__ = ["AuditWriter"]


@dataclass(kw_only=True, slots=True)
class _Pending:
    event: AuditEvent
    written: bool = False
    error: BaseException | None = None


class AuditWriter:
    """Appends audit entries for reads, batching those that arrive together."""

    def __init__(self, store: RecordsStore, *, key: bytes, clock: Clock) -> None:
        self._store = store
        self._key = key
        self._clock = clock
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()  # one batch of this process at the chain at a time

    def append(self, event: AuditEvent) -> None:
        """Record ``event``; returns once it is committed, raises if it could not be."""
        mine = _Pending(event=event)
        with self._queue_lock:
            self._queue.append(mine)
        with self._turn:
            if not mine.written:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if mine.error is not None:
            raise mine.error

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self._store.session() as tx:
                at = self._clock.now()  # the batch joins the chain at once, at one time
                tx.append_audits([(pending.event, at) for pending in batch], key=self._key)
        except BaseException as exc:  # every waiter of the batch learns it was not recorded
            for pending in batch:
                pending.error = exc
                pending.written = True
            return
        for pending in batch:
            pending.written = True
