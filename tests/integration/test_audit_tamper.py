"""Tampering with the stored audit chain is found, named and located, on both databases."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.bootstrap import Services
from api.demo import PROCEDURES, seed_demo
from records.adapters.clock import ManualClock
from records.audit import ChainProblem, ChainReport
from records.authz import Principal
from records.errors import Forbidden
from records.lifecycle import TransitionRequest
from records.model import Role
from records.services import CreateDossier, create_dossier, transition_dossier, verify_audit
from tests.fixtures.app import MOTCUA, cli_env, make_services, motcua_at_once, principal
from tests.fixtures.demo import DemoRun, demo_copy

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ADMIN = Principal(username="quantri", roles=frozenset({Role.ADMIN}))
# seed_demo writes 7 user.create entries, 3 certificate.register and 1 seal.authorise;
# then the dossier's creation and the 6 steps of STEPS.
ENTRIES = 18
MIDDLE = 15  # chuyenvien's request_supplement
STEPS = (
    ("tiepnhan", TransitionRequest(name="complete_digitisation")),
    ("tiepnhan", TransitionRequest(name="assign_handler", handler="chuyenvien")),
    ("chuyenvien", TransitionRequest(name="request_supplement", comment="Bổ sung trích đo.")),
    ("congdan", TransitionRequest(name="supply_supplement")),
    ("chuyenvien", TransitionRequest(name="request_fee", comment="Lệ phí cấp giấy.")),
    ("tiepnhan", TransitionRequest(name="confirm_fee")),
)


def _write_chain(services: Services) -> None:
    seed_demo(services)
    view = create_dossier(services.records, principal(services, "tiepnhan"), CreateDossier(
        procedure_code=PROCEDURES[0].code, applicant_id="022190001234",
        applicant_name="Nguyễn Thị Hương"))
    for actor, request in STEPS:
        transition_dossier(services.records, principal(services, actor), view.dossier.code,
                           request)


@pytest.fixture(params=BACKENDS)
def demo_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    url = request.getfixturevalue("postgres_db_url") if request.param == "postgres" else None
    services = make_services(tmp_path, url, clock=ManualClock(datetime(2026, 11, 19, 3,
                                                                       tzinfo=UTC)))
    _write_chain(services)
    yield services
    services.close()


def _sql(services: Services, *statements: str, **params: Any) -> None:
    with services.engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement), params)


def _verify(services: Services) -> ChainReport:
    return verify_audit(services.records, ADMIN)


def _found(services: Services) -> tuple[ChainProblem | None, int | None]:
    report = _verify(services)
    assert report.intact is False
    return report.problem, report.seq


def test_untouched_chain_is_intact(demo_services: Services) -> None:
    assert _verify(demo_services) == ChainReport(intact=True, checked=ENTRIES,
                                                 message="audit chain intact")
    with demo_services.engine.connect() as connection:
        actions = connection.execute(sa.text("SELECT action FROM audit_log WHERE seq IN "
                                             "(1, 12, :m, :n) ORDER BY seq"),
                                     {"m": MIDDLE, "n": ENTRIES})
        assert actions.scalars().all() == ["user.create", "dossier.receive_at_desk",
                                           "dossier.request_supplement",
                                           "dossier.confirm_fee"]


@pytest.mark.parametrize(("column", "value"), [
    ("detail", '{"comment":"","due_at":null,"from":"in_review","to":"returned"}'),
    ("actor", "lanhdao"),
    ("object_id", "000.00.15.H40-261119-9999"),
], ids=["detail", "actor", "object_id"])
def test_an_edited_entry_is_named(demo_services: Services, column: str, value: str) -> None:
    _sql(demo_services, f"UPDATE audit_log SET {column} = :v WHERE seq = :s",  # noqa: S608
         v=value, s=MIDDLE)
    report = _verify(demo_services)
    assert report == ChainReport(intact=False, checked=MIDDLE - 1, problem=ChainProblem.EDITED,
                                 seq=MIDDLE, message=f"entry {MIDDLE} was edited")


def test_a_deleted_middle_entry_is_found_at_its_successor(demo_services: Services) -> None:
    _sql(demo_services, "DELETE FROM audit_log WHERE seq = :s", s=MIDDLE)
    assert _found(demo_services) == (ChainProblem.DELETED, MIDDLE + 1)


def test_a_deleted_first_entry_is_found_at_the_second(demo_services: Services) -> None:
    _sql(demo_services, "DELETE FROM audit_log WHERE seq = 1")
    assert _found(demo_services) == (ChainProblem.DELETED, 2)


def test_two_swapped_entries_are_reported_out_of_place(demo_services: Services) -> None:
    # Every column but seq changes places: renumber through a free value.
    _sql(demo_services,
         "UPDATE audit_log SET seq = -1 WHERE seq = :a",
         "UPDATE audit_log SET seq = :a WHERE seq = :b",
         "UPDATE audit_log SET seq = :b WHERE seq = -1",
         a=MIDDLE, b=MIDDLE + 1)
    with demo_services.engine.connect() as connection:
        moved = connection.execute(sa.text("SELECT action FROM audit_log WHERE seq = :s"),
                                   {"s": MIDDLE}).scalar_one()
    assert moved == "dossier.supply_supplement"
    assert _found(demo_services) == (ChainProblem.REORDERED, MIDDLE)


def test_a_deleted_last_entry_is_truncation(demo_services: Services) -> None:
    _sql(demo_services, "DELETE FROM audit_log WHERE seq = :s", s=ENTRIES)
    report = _verify(demo_services)
    assert report == ChainReport(
        intact=False, checked=ENTRIES - 1, problem=ChainProblem.TRUNCATED, seq=ENTRIES,
        message=f"the chain ends at {ENTRIES - 1} but the head is {ENTRIES}")


def test_a_renumbered_last_entry_is_found(demo_services: Services) -> None:
    _sql(demo_services, "UPDATE audit_log SET seq = :n WHERE seq = :s", n=ENTRIES + 1,
         s=ENTRIES)
    assert _found(demo_services) == (ChainProblem.RENUMBERED, ENTRIES + 1)


def test_a_refused_verification_for_a_non_administrator(demo_services: Services) -> None:
    clerk = Principal(username="tiepnhan", roles=frozenset({Role.CLERK}),
                      branch_code="TTPVHCC-QN")
    with pytest.raises(Forbidden):
        verify_audit(demo_services.records, clerk)


# ---------------------------------------------------------------------------- the CLI


def _motcua(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOTCUA), *args], env=cli_env(data_dir), cwd=data_dir,
                          capture_output=True, text=True, timeout=180, check=False)


def test_cli_audit_verify_passes_then_names_the_edited_entry(tmp_path: Path,
                                                            demo_run: DemoRun) -> None:
    entries = demo_copy(demo_run, tmp_path).summary["audit"]["checked"]
    intact = _motcua(tmp_path, "audit", "verify", "--json")
    assert (intact.returncode, json.loads(intact.stdout)) == (0, {
        "intact": True, "checked": entries, "problem": None, "seq": None,
        "message": "audit chain intact"})

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE audit_log SET detail = '{}' WHERE seq = :s"),
                               {"s": MIDDLE})
    finally:
        engine.dispose()

    # The report and the text, both at once: a verification only reads.
    broken, text = motcua_at_once(tmp_path, ["audit", "verify", "--json"], ["audit", "verify"],
                                  timeout=180)
    assert (broken.returncode, json.loads(broken.stdout)) == (1, {
        "intact": False, "checked": MIDDLE - 1, "problem": "edited", "seq": MIDDLE,
        "message": f"entry {MIDDLE} was edited"})
    assert text.returncode == 1
    assert f"NHẬT KÝ BỊ THAY ĐỔI tại bản ghi {MIDDLE}" in text.stdout
