"""``kill -9`` a process in the middle of a signing or sealing batch.

Signing runs in the process that asked for it (the API, or a batch page's thread). A child
process signs (then seals) a batch of results through the real use cases and is SIGKILLed
as soon as the first result is recorded, after a random few milliseconds more so that the
kill lands at different points (in pyHanko, between the blob's put and the commit, in the
commit). Afterwards every result is either untouched (still awaiting, its blob the one it
had) or fully done (its blob a signed PDF that verifies); a retry does the rest; nothing is
lost, duplicated or left half-signed, and the audit chain verifies.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.bootstrap import Services
from records.lifecycle import TransitionRequest
from records.model import Result, ResultStatus
from records.results import DraftRequest, draft_result, seal_results, sign_results
from records.services import transition_dossier
from signing import verify_pdf
from signing.demo_pki import DEMO_PASSPHRASE
from signing.report import VerificationOutcome
from tests.fixtures.app import principal
from tests.fixtures.faults import check_invariants, fault_rounds, report_line
from tests.fixtures.jobs import job_services, job_settings, open_dossier, worker_env

pytestmark = [pytest.mark.fault, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
BATCH = 4  # results per batch: the kill lands after the first, before the last
CHILD_S = 60.0
STAGES = {"sign": ("lanhdao", ResultStatus.DRAFT, ResultStatus.SIGNED),
          "seal": ("vanthu", ResultStatus.SIGNED, ResultStatus.SEALED)}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = job_settings(tmp_path / "data", backend="local")
    running = job_services(settings)
    try:
        yield running
    finally:
        running.close()


def _submitted(services: Services, count: int) -> list[str]:
    """``count`` dossiers whose drafted result awaits lanhdao's signature."""
    handler = principal(services, "chuyenvien")
    codes = []
    for _ in range(count):
        clerk, dossier = open_dossier(services)
        for request in (TransitionRequest(name="complete_digitisation"),
                        TransitionRequest(name="assign_handler", handler="chuyenvien")):
            transition_dossier(services.records, clerk, dossier, request)
        result = draft_result(services.results, handler, dossier, DraftRequest(
            subject="Về việc cấp Giấy chứng nhận quyền sử dụng đất",
            body=("Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125, tờ bản đồ số 07.",),
            signer="lanhdao"))
        transition_dossier(services.records, handler, dossier,
                           TransitionRequest(name="submit_for_approval", signer="lanhdao"))
        codes.append(result.code)
    return codes


def _results(services: Services, codes: list[str]) -> dict[str, Result]:
    with services.records.store.session(readonly=True) as tx:
        found = {code: tx.get_result(code) for code in codes}
    assert all(found.values()), found
    return {code: result for code, result in found.items() if result is not None}


def _kill_mid_batch(services: Services, stage: str, codes: list[str],
                    rng: random.Random) -> None:
    """Start the batch in a child; SIGKILL it once a result is done, a moment later."""
    user, _, after = STAGES[stage]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.fault.sign_batch", user, stage, *codes],
        cwd=REPO, env=worker_env(services.settings), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + CHILD_S
        while not any(r.status is after for r in _results(services, codes).values()):
            if child.poll() is not None:
                err = child.stderr.read().decode(errors="replace") if child.stderr else ""
                raise AssertionError(f"the {stage} batch ended before the kill: {err[-2000:]}")
            if time.monotonic() > end:
                raise AssertionError(f"no result reached {after} in {CHILD_S:g} s")
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        child.kill()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        if child.stderr is not None:
            child.stderr.close()


def _whole_or_untouched(services: Services, stage: str, before: dict[str, Result],
                        codes: list[str]) -> tuple[int, int]:
    """Each result as it was or fully moved on; returns (done, untouched)."""
    _, waiting, after = STAGES[stage]
    done = untouched = 0
    validation = services.trust.validation()
    for code, result in _results(services, codes).items():
        if result.status is waiting:
            assert result == before[code], f"{code} changed without moving on"
            untouched += 1
            continue
        assert result.status is after, f"{code} is {result.status}"
        report = verify_pdf(services.blobs.get(result.blob_sha256), validation=validation)
        assert report.outcome is VerificationOutcome.ALL_PASSED, (code, report)
        expected = 1 if stage == "sign" else 2
        assert len(report.signatures) == expected, (code, report.signatures)
        done += 1
    return done, untouched


def test_a_signing_process_killed_mid_batch_leaves_each_result_whole_or_untouched(
        services: Services) -> None:
    rounds = fault_rounds(1)
    rng = random.Random(7)  # noqa: S311 - when to kill, not a secret
    counts = {"sign": [0, 0], "seal": [0, 0]}
    lost = 0
    for _ in range(rounds):
        codes = _submitted(services, BATCH)
        for stage, (user, _, after) in STAGES.items():
            before = _results(services, codes)
            _kill_mid_batch(services, stage, codes, rng)
            done, untouched = _whole_or_untouched(services, stage, before, codes)
            assert done >= 1
            counts[stage][0] += done
            counts[stage][1] += untouched
            # The retry: the batch again, as the signer would; finished ones are refused.
            use_case = sign_results if stage == "sign" else seal_results
            items = use_case(services.results, principal(services, user), codes,
                             secret=DEMO_PASSPHRASE)
            assert sum(item.ok for item in items) == untouched, items
            results = _results(services, codes)
            lost += sum(r.status is not after for r in results.values())
    invariants = check_invariants(services)
    report_line("kill -9 mid-signing", rounds, lost=lost,
                duplicated=len(invariants.duplicated),
                extra=f"{2 * rounds} kills; signed before the kill {counts['sign'][0]}, "
                      f"after {counts['sign'][1]}; sealed before {counts['seal'][0]}, "
                      f"after {counts['seal'][1]}; {len(invariants.orphans)} orphan blobs")
    assert lost == 0
    invariants.assert_intact()
