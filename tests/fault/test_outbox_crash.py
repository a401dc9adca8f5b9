"""A crash between the records commit and the outbox publish.

The outbox row is written in the records' own transaction (``records.datastore``), and the
publisher reads it after the commit. Two crashes: (1) the sealing process is SIGKILLed
mid-batch, after some commits and before anything was published; (2) a publisher is
SIGKILLed after the index took the entries and before the rows were marked processed. A
restarted publisher indexes everything exactly once: each sealed result is found once, and
the index lag returns to zero. (A result enters the index once sealed.)
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys

import pytest

from api.bootstrap import Services
from api.cli import OPERATOR
from records.indexing import index_lag, publish_outbox, result_key, search
from records.model import ResultStatus
from records.ports import SearchQuery
from records.results import seal_results, sign_results
from signing.demo_pki import DEMO_PASSPHRASE
from tests.fixtures.app import principal
from tests.fixtures.batches import (
    BATCH,
    REPO,
    kill_mid_batch,
    results_of,
    services,
    submitted,
)
from tests.fixtures.faults import check_invariants, fault_rounds, report_line
from tests.fixtures.jobs import worker_env

__all__ = ["services"]  # the fixture, from tests/fixtures/batches.py

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def _hits(services: Services, code: str) -> int:
    page = search(services.search, OPERATOR, SearchQuery(text=code, kind="result", limit=100))
    return sum(hit.doc_id == result_key(code) for hit in page.hits)


def test_a_crash_after_the_commit_and_before_the_publish_indexes_everything_once(
        services: Services) -> None:
    rounds = fault_rounds(1)
    rng = random.Random(11)  # noqa: S311 - when to kill, not a secret
    publisher_kills = 0
    codes: list[str] = []
    for _ in range(rounds):
        batch = submitted(services, BATCH)
        codes += batch
        signer = principal(services, "lanhdao")
        assert all(i.ok for i in sign_results(services.results, signer, batch,
                                              secret=DEMO_PASSPHRASE))
        publish_outbox(services.search)  # the signatures are indexed: only the seals pend
        # (1) The sealing process dies after some commits: their outbox rows pend.
        kill_mid_batch(services, "seal", batch, rng)
        assert index_lag(services.search).pending >= 1
        # (2) A publisher dies after the index took the entries, before marking the rows.
        child = subprocess.run(
            [sys.executable, "-m", "tests.fault.publish_and_die"], cwd=REPO,
            env=worker_env(services.settings), capture_output=True, timeout=120, check=False)
        assert child.returncode == -signal.SIGKILL, child.stderr.decode(errors="replace")
        publisher_kills += 1
        assert index_lag(services.search).pending >= 1  # nothing was marked processed
        # The custodian seals the rest (a result is indexed once sealed).
        custodian = principal(services, "vanthu")
        seal_results(services.results, custodian, batch, secret=DEMO_PASSPHRASE)
    # The restart: the publisher runs again and catches up.
    while publish_outbox(services.search):
        pass
    assert index_lag(services.search).pending == 0
    results = results_of(services, codes)
    sealed = [code for code, r in results.items() if r.status is ResultStatus.SEALED]
    found = {code: _hits(services, code) for code in codes}
    lost = sum(found[code] == 0 for code in codes)
    duplicated = sum(found[code] > 1 for code in codes)
    invariants = check_invariants(services)
    report_line("crash between commit and publish", rounds, lost=lost, duplicated=duplicated,
                extra=f"{rounds} sealing kills, {publisher_kills} publisher kills, "
                      f"{len(sealed)} of {len(codes)} results sealed, index lag 0")
    assert sealed == codes
    assert (lost, duplicated) == (0, 0), found
    stored = {code: services.search.index.get(result_key(code)) for code in sealed}
    assert all(doc is not None and doc.status == "sealed" for doc in stored.values()), stored
    invariants.assert_intact()
