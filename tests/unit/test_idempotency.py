"""A dossier creation sent twice with one idempotency key opens one dossier: in sequence, and
when the two requests race each other, on a real SQLite store with the demo data."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.bootstrap import Services
from api.demo import PROCEDURES
from records.adapters.clock import ManualClock
from records.errors import Conflict, InvalidInput
from records.services import CreateDossier, DossierView, create_dossier
from tests.fixtures.app import WRITTEN_TABLES, count_rows, principal, seeded

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
LAND, BIRTH = PROCEDURES[0].code, PROCEDURES[1].code


def _cmd(key: str | None, procedure: str = LAND,
         applicant_id: str = "022190001234") -> CreateDossier:
    return CreateDossier(procedure_code=procedure, applicant_id=applicant_id,
                         applicant_name="Nguyễn Thị Hương", idempotency_key=key)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded(tmp_path, clock=ManualClock(T0))
    yield built
    built.close()


def _counts(services: Services) -> dict[str, int]:
    return count_rows(services.engine, *WRITTEN_TABLES, "idempotency_keys")


def test_a_repeated_key_returns_the_first_dossier_and_writes_nothing(
        services: Services) -> None:
    clerk = principal(services, "tiepnhan")
    first = create_dossier(services.records, clerk, _cmd("form-1"))
    after_first = _counts(services)
    again = create_dossier(services.records, clerk, _cmd("form-1"))
    assert (first.replayed, again.replayed) == (False, True)
    assert again.dossier == first.dossier
    assert _counts(services) == after_first  # no row, no history, no audit entry


def test_keys_belong_to_their_user_and_no_key_means_no_memory(services: Services) -> None:
    clerk, admin = principal(services, "tiepnhan"), principal(services, "quantri")
    mine = create_dossier(services.records, clerk, _cmd("same"))
    theirs = create_dossier(services.records, admin,
                            replace(_cmd("same"), branch_code="TTPVHCC-QN"))
    assert mine.dossier.code != theirs.dossier.code
    plain = [create_dossier(services.records, clerk, _cmd(None)) for _ in range(2)]
    assert plain[0].dossier.code != plain[1].dossier.code
    assert count_rows(services.engine, "idempotency_keys") == {"idempotency_keys": 2}


def test_a_key_reused_for_another_request_is_refused(services: Services) -> None:
    clerk = principal(services, "tiepnhan")
    first = create_dossier(services.records, clerk, _cmd("k"))
    before = _counts(services)
    for other in (_cmd("k", procedure=BIRTH), _cmd("k", applicant_id="038190004321")):
        with pytest.raises(Conflict) as refused:
            create_dossier(services.records, clerk, other)
        assert (refused.value.code, refused.value.field) == ("idempotency_key_reused",
                                                             "idempotency_key")
        assert first.dossier.code in refused.value.message
    assert _counts(services) == before


@pytest.mark.parametrize("key", ["", "x" * 101, "khóa", "a\nb"])
def test_a_malformed_key_is_refused_before_anything_is_written(services: Services,
                                                                key: str) -> None:
    before = _counts(services)
    with pytest.raises(InvalidInput) as refused:
        create_dossier(services.records, principal(services, "tiepnhan"), _cmd(key))
    assert refused.value.field == "idempotency_key"
    assert _counts(services) == before


def test_two_racing_requests_with_one_key_open_one_dossier(services: Services) -> None:
    clerk = principal(services, "tiepnhan")
    before = _counts(services)
    start = threading.Barrier(4)
    answers: list[DossierView] = []
    failures: list[Exception] = []

    def send() -> None:
        start.wait()
        try:
            answers.append(create_dossier(services.records, clerk, _cmd("double-click")))
        except Exception as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len({a.dossier.code for a in answers}) == 1
    assert sorted(a.replayed for a in answers) == [False, True, True, True]
    after = _counts(services)
    assert after["dossiers"] == before["dossiers"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
