"""Run as ``python -m tests.fault.publish_and_die``: publish the outbox of the installation
``MOTCUA_*`` names with the real search index, and SIGKILL this process as soon as the
index has taken the entries, before the outbox rows are marked processed."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace

from api.bootstrap import bootstrap
from api.settings import Settings
from records.indexing import publish_outbox
from records.ports import IndexedDocument, SearchIndex


class _DieAfterUpsert:
    """The real index; the process dies right after an upsert returns."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index

    def __getattr__(self, name: str) -> object:
        return getattr(self._index, name)

    def upsert(self, documents: Sequence[IndexedDocument]) -> None:
        self._index.upsert(documents)
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    services = bootstrap(Settings())
    deps = replace(services.search, index=_DieAfterUpsert(services.search.index))  # type: ignore[arg-type]
    publish_outbox(deps)
    return 3  # not reached when there was anything to publish


if __name__ == "__main__":
    sys.exit(main())
