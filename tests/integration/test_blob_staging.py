"""records.blob_staging on the real stores (SQLite and PostgreSQL, the filesystem blob store):
a blob stored ahead of a record that never commits is dropped, by ``settle`` at once or by
the scheduler's sweep after a crash; a blob something names is never dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.bootstrap import Services, bootstrap
from api.scheduler import SchedulerPolicy, run_once
from records.adapters.clock import ManualClock
from records.blob_staging import STALE_AFTER, StagingDeps, settle, stage, staged, sweep
from records.model import ResultStatus
from tests.fixtures.app import HermeticSettings, count_rows, make_services
from tests.fixtures.demo import DemoRun, demo_copy

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    url = (str(request.getfixturevalue("postgres_db_url")) if request.param == "postgres"
           else None)
    built = make_services(tmp_path, url, clock=ManualClock(T0))
    yield built
    built.close()


def _deps(services: Services) -> StagingDeps:
    return StagingDeps(store=services.results.store, blobs=services.blobs,
                       clock=services.clock)


def _intents(services: Services) -> int:
    return count_rows(services.engine, "blob_intents")["blob_intents"]


def test_a_blob_whose_record_never_commits_is_dropped_when_settled(services: Services) -> None:
    deps = _deps(services)
    seen: list[tuple[str, bool, int]] = []

    def record_refused() -> None:
        with staged(deps, b"%PDF-1.7 signed") as ref:
            seen.append((ref.sha256, services.blobs.exists(ref.sha256), _intents(services)))
            raise RuntimeError("refused: the result changed meanwhile")

    with pytest.raises(RuntimeError, match="refused"):
        record_refused()
    [(sha256, stored, intents)] = seen
    assert (stored, intents) == (True, 1)
    assert not services.blobs.exists(sha256)
    assert _intents(services) == 0


def test_a_crash_between_the_put_and_the_commit_is_swept_once_stale(services: Services) -> None:
    deps = _deps(services)
    left = stage(deps, b"%PDF-1.7 sealed, then the process was killed")  # never settled
    assert sweep(deps, now=T0 + STALE_AFTER - timedelta(seconds=1)) == 0  # may still commit
    assert services.blobs.exists(left.ref.sha256)
    assert sweep(deps, now=T0 + STALE_AFTER + timedelta(seconds=1)) == 1
    assert not services.blobs.exists(left.ref.sha256)
    assert _intents(services) == 0


def test_the_same_bytes_staged_twice_stay_while_either_needs_them(services: Services) -> None:
    deps = _deps(services)
    first, second = stage(deps, b"same bytes"), stage(deps, b"same bytes")
    assert first.ref == second.ref
    settle(deps, first)
    assert services.blobs.exists(first.ref.sha256)  # the second is still on its way
    settle(deps, second)
    assert not services.blobs.exists(first.ref.sha256)
    assert _intents(services) == 0


def test_a_stale_intent_of_a_recorded_blob_goes_and_the_blob_stays(
        demo_run: DemoRun, tmp_path: Path) -> None:
    """A crash after the commit and before ``settle``: the scheduler's round removes the
    intent and keeps the sealed result it names."""
    run = demo_copy(demo_run, tmp_path / "demo")
    now = datetime.now(UTC)
    services = bootstrap(HermeticSettings(data_dir=run.data_dir, password_time_cost=1,
                                          password_memory_kib=8192), clock=ManualClock(now))
    try:
        with services.results.store.session(readonly=True) as tx:
            sealed = next(iter(tx.results_in(frozenset({ResultStatus.SEALED,
                                                          ResultStatus.ISSUED})))).blob_sha256
            assert sealed is not None
        with services.results.store.session() as tx:
            tx.add_blob_intent(sealed, now - timedelta(hours=1))
        report = run_once(services, now, SchedulerPolicy(overdue=False, archive=False))
        assert (report.blobs_dropped, report.errors) == (0, ())
        assert services.blobs.exists(sealed)
        assert _intents(services) == 0
    finally:
        services.close()
