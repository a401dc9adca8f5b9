"""The outbox publisher: a thread that keeps the search index up to date after commits."""

from __future__ import annotations

import logging
import threading

from records.indexing import SearchDeps, publish_outbox

__all__ = ["OutboxPublisher"]

log = logging.getLogger(__name__)


class OutboxPublisher:
    def __init__(self, deps: SearchDeps, *, poll_seconds: float = 1.0) -> None:
        self._deps = deps
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    handled = publish_outbox(self._deps)
                except Exception:  # the index or the database is briefly away: try again
                    log.exception("search indexing failed; will retry")
                    handled = 0
                if not handled:
                    self._stop.wait(self._poll)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="motcua-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
