"""``api.scheduler.run_once`` for real on SQLite: overdue dossiers recorded once per due
date, archive extension (B-LTA) chosen, done, and not repeated, the audit chain intact; and
through the stack's queues: ``motcua scheduler`` asks, a ``motcua worker --queues sign``
process on a real Redis extends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.bootstrap import Services, bootstrap
from api.demo import PROCEDURES
from api.scheduler import SchedulerPolicy, archive_candidates, run_once
from records.adapters.clock import ManualClock
from records.model import ResultStatus
from records.services import CreateDossier, create_dossier, verify_audit
from tests.fixtures.app import MOTCUA, HermeticSettings, cli_env, principal, seeded
from tests.fixtures.demo import DemoRun, demo_copy
from tests.fixtures.jobs import empty_broker

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 9:00 in Hà Nội


def _overdue_entries(services: Services, code: str) -> list[dict[str, str]]:
    with services.records.store.session(readonly=True) as tx:
        return [json.loads(e.detail) for e in tx.audit_for_object("dossier", code)
                if e.action == "dossier.overdue"]


def test_overdue_dossier_is_recorded_once_per_due_date(tmp_path: Path) -> None:
    clock = ManualClock(START)
    services = seeded(tmp_path, clock=clock)
    clerk = principal(services, "tiepnhan")
    view = create_dossier(services.records, clerk, CreateDossier(
        procedure_code=PROCEDURES[0].code, applicant_id="022190001234",
        applicant_name="Nguyễn Thị Hương", phone="0912345678"))
    code, due = view.dossier.code, view.dossier.due_at
    assert due is not None, "a dossier received at the desk has a due date"
    policy = SchedulerPolicy(archive=False)

    before = run_once(services, due - timedelta(minutes=1), policy)
    assert code not in before.overdue_recorded
    assert not before.errors

    late = run_once(services, due + timedelta(hours=1), policy)
    assert code in late.overdue_recorded
    assert not late.errors
    again = run_once(services, due + timedelta(days=1), policy)
    assert code not in again.overdue_recorded
    assert _overdue_entries(services, code) == [{"due_at": due.isoformat()}]
    report = verify_audit(services.records, principal(services, "quantri"))
    assert report.intact, report.message
    services.close()


def test_archive_extension_is_chosen_done_and_not_repeated(demo_run: DemoRun,
                                                           tmp_path: Path) -> None:
    run = demo_copy(demo_run, tmp_path / "demo")
    now = datetime.now(UTC)
    services = bootstrap(HermeticSettings(data_dir=run.data_dir, password_time_cost=1,
                                          password_memory_kib=8192),
                         clock=ManualClock(now))
    # The demo certificates live years: a window of a century makes them due now.
    policy = SchedulerPolicy(overdue=False, archive_within=timedelta(days=36_500))
    with services.results.store.session(readonly=True) as tx:
        sealed = {r.code: r.blob_sha256 for r in tx.results_in(
            frozenset({ResultStatus.SEALED, ResultStatus.ISSUED}))}
    assert sealed, "the demo seals a result"

    first = run_once(services, now, policy)
    assert set(first.archive_chosen) == set(sealed), first
    assert set(first.archive_extended) == set(sealed), first.archive_failed
    assert not first.errors
    assert not first.archive_enqueued
    with services.results.store.session(readonly=True) as tx:
        for result_code, old_sha in sealed.items():
            entry = [e for e in tx.audit_for_object("result", result_code)
                     if e.action == "result.archive_extend"]
            assert len(entry) == 1
            assert json.loads(entry[0].detail)["previous"] == old_sha
            extended = services.blobs.get(json.loads(entry[0].detail)["sha256"])
            assert len(extended) > len(services.blobs.get(old_sha))  # an appended timestamp

    second = run_once(services, now + timedelta(days=1), policy)
    assert second.archive_chosen == ()
    assert second.archive_extended == ()
    # A year on, the archive timestamp is due for renewal.
    assert set(archive_candidates(services, now + timedelta(days=366), policy)) == set(sealed)
    # Without a wide window nothing of the demo is due: its certificates are young.
    assert archive_candidates(services, now, SchedulerPolicy()) == ()
    report = verify_audit(services.records, principal(services, "quantri"))
    assert report.intact, report.message
    services.close()


def _extended(services: Services, codes: list[str]) -> set[str]:
    with services.results.store.session(readonly=True) as tx:
        return {c for c in codes if any(e.action == "result.archive_extend"
                                        for e in tx.audit_for_object("result", c))}


def test_the_sign_worker_extends_what_the_scheduler_asks_for(
        demo_run: DemoRun, tmp_path: Path, redis_url: str) -> None:
    run = demo_copy(demo_run, tmp_path / "demo")
    log_path = tmp_path / "worker-sign.log"
    with empty_broker(redis_url) as broker, log_path.open("wb") as log:
        env = cli_env(run.data_dir, MOTCUA_JOB_BACKEND="celery", MOTCUA_REDIS_URL=broker)
        worker = subprocess.Popen([str(MOTCUA), "worker", "--queues", "sign"], env=env,
                                  cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            done = subprocess.run([str(MOTCUA), "scheduler", "--once", "--json",
                                   "--archive-within-days", "36500"], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stderr
            report = json.loads(done.stdout)
            assert report["archive_enqueued"] is True
            chosen = report["archive_chosen"]
            assert chosen, report
            assert report["archive_extended"] == []  # the worker does it, not the scheduler
            services = bootstrap(HermeticSettings(data_dir=run.data_dir, password_time_cost=1,
                                                  password_memory_kib=8192))
            end = time.monotonic() + 90
            while _extended(services, chosen) != set(chosen):
                assert worker.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < end, log_path.read_text(errors="replace")
                time.sleep(0.2)
            services.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)  # Celery's warm shutdown
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(5)
