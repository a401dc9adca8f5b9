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
from datetime import UTC, datetime, timedelta

import pytest

from api.bootstrap import Services
from records.blob_staging import STALE_AFTER, StagingDeps
from records.blob_staging import sweep as sweep_staged
from records.model import Result
from records.results import seal_results, sign_results
from signing import verify_pdf
from signing.demo_pki import DEMO_PASSPHRASE
from signing.report import VerificationOutcome
from tests.fixtures.app import principal
from tests.fixtures.batches import (
    BATCH,
    STAGES,
    kill_mid_batch,
    results_of,
    services,
    submitted,
)
from tests.fixtures.faults import check_invariants, fault_rounds, report_line

__all__ = ["services"]  # the fixture, from tests/fixtures/batches.py

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def _whole_or_untouched(services: Services, stage: str, before: dict[str, Result],
                        codes: list[str]) -> tuple[int, int]:
    """Each result as it was or fully moved on; returns (done, untouched)."""
    _, waiting, after = STAGES[stage]
    done = untouched = 0
    validation = services.trust.validation()
    for code, result in results_of(services, codes).items():
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
        codes = submitted(services, BATCH)
        for stage, (user, _, after) in STAGES.items():
            before = results_of(services, codes)
            kill_mid_batch(services, stage, codes, rng)
            done, untouched = _whole_or_untouched(services, stage, before, codes)
            assert done >= 1
            counts[stage][0] += done
            counts[stage][1] += untouched
            # The retry: the batch again, as the signer would; finished ones are refused.
            use_case = sign_results if stage == "sign" else seal_results
            items = use_case(services.results, principal(services, user), codes,
                             secret=DEMO_PASSPHRASE)
            assert sum(item.ok for item in items) == untouched, items
            results = results_of(services, codes)
            lost += sum(r.status is not after for r in results.values())
    # A kill between a signed file's put and its commit leaves the file and its intent; the
    # scheduler's sweep (here run as it would be ten minutes on) drops what nothing names.
    swept = sweep_staged(StagingDeps(store=services.results.store, blobs=services.blobs,
                                     clock=services.clock),
                         now=datetime.now(UTC) + STALE_AFTER + timedelta(minutes=1))
    invariants = check_invariants(services)
    report_line("kill -9 mid-signing", rounds, lost=lost,
                duplicated=len(invariants.duplicated),
                extra=f"{2 * rounds} kills; signed before the kill {counts['sign'][0]}, "
                      f"after {counts['sign'][1]}; sealed before {counts['seal'][0]}, "
                      f"after {counts['seal'][1]}; {swept} unrecorded files swept, "
                      f"{len(invariants.orphans)} orphan blobs")
    assert lost == 0
    invariants.assert_intact()
