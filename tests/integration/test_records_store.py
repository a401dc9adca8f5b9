"""The records store contract, on SQLite (the embedded default) and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import StatementError

from api.bootstrap import Services
from api.demo import AGENCIES, BRANCH_PROVINCE, BRANCH_WARD, BRANCHES, PROCEDURES
from records.adapters.clock import ManualClock
from records.adapters.sql import create_engine_for, upgrade_schema
from records.adapters.sql.engine import alembic_config
from records.adapters.sql.tables import metadata
from records.audit import GENESIS, AuditEvent
from records.audit_writer import AuditWriter
from records.authz import Principal, Scope
from records.errors import Conflict
from records.model import (
    Dossier,
    DossierStatus,
    HistoryEntry,
    Person,
    PersonKind,
    Procedure,
    Rating,
    RequiredComponent,
    Role,
)
from records.repository import DossierQuery, StoredToken, User
from records.services import CreateDossier, create_dossier, verify_audit
from tests.fixtures.app import count_rows, make_services

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
DAY = date(2026, 11, 19)
LAND, WARD = "000.00.15.H40", "000.01.02.H40"
LAND_PROC, BIRTH_PROC = PROCEDURES[0].code, PROCEDURES[1].code
ALICE, BOB, FIRM = "022190001234", "001190009999", "5701234567"
CLERK = Principal(username="tiepnhan", roles=frozenset({Role.CLERK}),
                  branch_code=BRANCH_PROVINCE)
ADMIN = Principal(username="quantri", roles=frozenset({Role.ADMIN}))  # verifies the audit


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db_url"))
    return f"sqlite:///{tmp_path / 'records.db'}"


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request, tmp_path)


@pytest.fixture(params=BACKENDS)
def store_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    services = make_services(tmp_path, _url(request, tmp_path), clock=ManualClock(T0))
    yield services
    services.close()


def _load_reference(services: Services) -> None:
    with services.records.store.session() as tx:
        for agency in AGENCIES:
            tx.add_agency(agency)
        for branch in BRANCHES:
            tx.add_branch(branch)
        for procedure in PROCEDURES:
            tx.add_procedure(procedure)
        for owner_id, name in ((ALICE, "Nguyễn Thị Hương"), (BOB, "Lê Văn Nam"),
                               (FIRM, "Công ty TNHH Hạ Long Xanh")):
            tx.save_person(Person(owner_id=owner_id, name=name))


def _dossier(code: str, *, branch: str = BRANCH_PROVINCE, procedure: str = LAND_PROC,
             applicant: str = ALICE, status: DossierStatus = DossierStatus.RECEIVED) -> Dossier:
    agency = LAND if procedure == LAND_PROC else WARD
    return Dossier(id=0, code=code, procedure_code=procedure, agency_code=agency,
                   branch_code=branch, applicant_id=applicant, status=status, created_at=T0,
                   created_by="tiepnhan", received_at=T0, clock_started_at=T0,
                   due_at=datetime(2026, 12, 17, 10, tzinfo=UTC))


def _codes(services: Services, query: DossierQuery) -> list[str]:
    with services.records.store.session(readonly=True) as tx:
        return [d.code for d in tx.list_dossiers(query)]


def test_migrations_create_the_schema_from_empty_and_rerun_harmlessly(empty_url: str) -> None:
    engine = create_engine_for(empty_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        upgrade_schema(engine)
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO agencies (code, name) VALUES ('X', 'Sở Tư pháp')"))
        upgrade_schema(engine)
        assert set(sa.inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
        with engine.connect() as c:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert c.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
                (head,)]
            # The migrations and the tables the code uses describe the same schema.
            assert compare_metadata(MigrationContext.configure(c), metadata) == []
            assert c.execute(sa.text("SELECT id, seq, hash FROM audit_head")).all() == [
                (1, 0, GENESIS)]
            assert c.execute(sa.text("SELECT code, name FROM agencies")).all() == [
                ("X", "Sở Tư pháp")]
    finally:
        engine.dispose()


def test_reference_data_round_trips_in_order(store_services: Services) -> None:
    copy = Procedure(
        code="2.002000.000.00.00.H40", agency_code=WARD, processing_days=2, fee_vnd=8_000,
        name="Cấp bản sao trích lục hộ tịch", result_type="Bản sao trích lục",
        components=(  # declared order, deliberately not alphabetical
            RequiredComponent(code="TOKHAI", name="Tờ khai cấp bản sao",
                              document_type="to_khai"),
            RequiredComponent(code="CCCD", name="Căn cước công dân",
                              document_type="can_cuoc_cong_dan", mandatory=False),
            RequiredComponent(code="AUYQUYEN", name="Văn bản ủy quyền",
                              document_type="van_ban_uy_quyen"),
        ))
    bare = Procedure(code="1.999999.000.00.00.H40", agency_code=WARD, processing_days=0,
                     name="Xác nhận tình trạng hôn nhân")
    with store_services.records.store.session() as tx:
        for agency in AGENCIES:
            tx.add_agency(agency)
        for branch in reversed(BRANCHES):
            tx.add_branch(branch)
        for procedure in (copy, PROCEDURES[1], bare):
            tx.add_procedure(procedure)
        tx.set_holiday(date(2026, 9, 2), "Quốc khánh (cũ)")
        tx.set_holiday(date(2026, 9, 2), "Quốc khánh")
        tx.set_holiday(date(2026, 8, 29), "Làm bù", working=True)
    with store_services.records.store.session(readonly=True) as tx:
        assert tx.get_agency(WARD) == AGENCIES[2]
        assert tx.get_agency("000.99.99.H40") is None
        assert tx.get_branch(BRANCH_WARD) == BRANCHES[1]
        assert tx.list_branches() == [BRANCHES[1], BRANCHES[0]]  # MC-HALONG < TTPVHCC-QN
        assert tx.get_procedure(copy.code) == copy
        assert [c.code for c in copy.components] == ["TOKHAI", "CCCD", "AUYQUYEN"]
        assert tx.get_procedure("1.000000.000.00.00.H40") is None
        assert tx.list_procedures() == [PROCEDURES[1], bare, copy]
        assert tx.holidays() == (frozenset({date(2026, 9, 2)}), frozenset({date(2026, 8, 29)}))


def test_person_is_inserted_then_updated(store_services: Services) -> None:
    citizen = Person(owner_id=ALICE, name="Nguyễn Thị Hương", phone="0912345678")
    firm = Person(owner_id=FIRM, name="Công ty TNHH Hạ Long Xanh",
                  kind=PersonKind.ORGANISATION, email="ketoan@halongxanh.vn")
    moved = replace(citizen, name="Nguyễn Thị Hương Giang", phone=None,
                    address="Tổ 5, khu 3, phường Hồng Gai, Hạ Long")
    store = store_services.records.store
    with store.session() as tx:
        tx.save_person(citizen)
        tx.save_person(firm)
    with store.session() as tx:
        assert tx.get_person(ALICE) == citizen
        tx.save_person(moved)
    with store.session(readonly=True) as tx:
        assert (tx.get_person(ALICE), tx.get_person(FIRM), tx.get_person(BOB)) == (
            moved, firm, None)
    assert count_rows(store_services.engine, "persons") == {"persons": 2}


def test_users_and_tokens_round_trip(store_services: Services) -> None:
    _load_reference(store_services)
    user = User(username="chuyenvien", password_hash="$argon2id$v=19$m=8192,t=1,p=4$x$y",
                display_name="Phạm Văn Minh", roles=frozenset({Role.HANDLER, Role.SIGNER}),
                agency_code=LAND, branch_code=BRANCH_PROVINCE)
    citizen = User(username="congdan", password_hash="h", display_name="Nguyễn Thị Hương",
                   roles=frozenset({Role.CITIZEN}), owner_id=ALICE)
    locked = replace(user, failed_logins=0, active=False,
                     locked_until=T0 + timedelta(minutes=15, microseconds=7))
    token = StoredToken(token_sha256="a" * 64, username="congdan", created_at=T0,
                        expires_at=T0 + timedelta(hours=8))
    store = store_services.records.store
    with store.session() as tx:
        tx.add_user(user)
        tx.add_user(citizen)
        tx.add_token(token)
    with store.session() as tx:
        assert (tx.get_user("chuyenvien"), tx.get_user("congdan")) == (user, citizen)
        assert tx.get_user("khongco") is None
        assert tx.get_token("a" * 64) == token
        tx.update_user(locked)
        tx.revoke_token("a" * 64)
    with store.session(readonly=True) as tx:
        assert tx.get_user("chuyenvien") == locked
        assert tx.get_token("a" * 64) == replace(token, revoked=True)
        assert tx.get_token("b" * 64) is None


def test_dossier_update_is_optimistic(store_services: Services) -> None:
    _load_reference(store_services)
    draft = _dossier(f"{LAND}-261119-0001")
    store = store_services.records.store
    with store.session() as tx:
        stored = tx.add_dossier(draft)
    assert stored.id > 0
    assert stored == replace(draft, id=stored.id)
    moved = replace(stored, status=DossierStatus.IN_REVIEW, handler="chuyenvien", version=2)
    with store.session() as tx:
        assert tx.get_dossier(draft.code) == stored
        assert tx.get_dossier(f"{LAND}-261119-0002") is None
        assert tx.update_dossier(moved, expected_version=1) is True
    with store.session() as tx:  # a second writer who read version 1 loses
        stale = replace(stored, status=DossierStatus.REFUSED, version=2)
        assert tx.update_dossier(stale, expected_version=1) is False
    with store.session(readonly=True) as tx:
        assert tx.get_dossier(draft.code) == moved


def test_a_dossier_is_rated_once_even_when_two_ratings_race(store_services: Services) -> None:
    _load_reference(store_services)
    store = store_services.records.store
    with store.session() as tx:
        stored = tx.add_dossier(_dossier(f"{LAND}-261119-0001"))
    at = datetime(2026, 11, 20, 3, tzinfo=UTC)

    def rate(score: int) -> bool:
        with store.session() as tx:
            return tx.add_rating(Rating(dossier_id=stored.id, owner_id=stored.applicant_id,
                                        score=score, comment="", created_at=at))

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(rate, [5, 4, 3, 2]))
    assert sorted(outcomes) == [False, False, False, True]
    with store.session(readonly=True) as tx:
        kept = tx.get_rating(stored.id)
    assert kept is not None
    assert kept.score == [5, 4, 3, 2][outcomes.index(True)]


def test_list_dossiers_scope_is_an_or_with_filters_and_paging(store_services: Services) -> None:
    _load_reference(store_services)
    with store_services.records.store.session() as tx:
        for dossier in (
            _dossier("d1"),
            _dossier("d2", branch=BRANCH_WARD, procedure=BIRTH_PROC, applicant=BOB),
            _dossier("d3", procedure=BIRTH_PROC, applicant=BOB,
                     status=DossierStatus.DIGITISED),
            _dossier("d4", branch=BRANCH_WARD, applicant=FIRM, status=DossierStatus.RETURNED),
        ):
            tx.add_dossier(dossier)

    def codes(scope: Scope | None, **kw: object) -> list[str]:
        return _codes(store_services, DossierQuery(scope=scope, **kw))  # type: ignore[arg-type]

    assert codes(None) == ["d4", "d3", "d2", "d1"]  # newest first
    assert codes(Scope()) == []
    assert codes(Scope(branch_codes=frozenset({BRANCH_PROVINCE}))) == ["d3", "d1"]
    assert codes(Scope(agency_codes=frozenset({LAND}))) == ["d4", "d1"]
    assert codes(Scope(owner_ids=frozenset({BOB}))) == ["d3", "d2"]
    assert codes(Scope(branch_codes=frozenset({BRANCH_WARD}),
                       owner_ids=frozenset({ALICE}))) == ["d4", "d2", "d1"]
    assert codes(None, statuses=frozenset({DossierStatus.RECEIVED})) == ["d2", "d1"]
    assert codes(Scope(agency_codes=frozenset({LAND})),
                 statuses=frozenset({DossierStatus.DIGITISED, DossierStatus.RETURNED})) == ["d4"]
    assert codes(None, procedure_code=BIRTH_PROC) == ["d3", "d2"]
    assert codes(None, limit=2) == ["d4", "d3"]
    assert codes(None, limit=2, offset=2) == ["d2", "d1"]
    assert codes(None, limit=2, offset=4) == []


def test_history_comes_back_in_the_order_it_was_recorded(store_services: Services) -> None:
    _load_reference(store_services)
    steps = [("receive_at_desk", None, DossierStatus.RECEIVED),
             ("complete_digitisation", DossierStatus.RECEIVED, DossierStatus.DIGITISED),
             ("assign_handler", DossierStatus.DIGITISED, DossierStatus.IN_REVIEW)]
    with store_services.records.store.session() as tx:
        first = tx.add_dossier(_dossier("d1"))
        other = tx.add_dossier(_dossier("d2"))
        for action, source, target in steps:  # all in the same microsecond
            tx.add_history(HistoryEntry(dossier_id=first.id, at=T0, actor="tiepnhan",
                                        action=action, from_status=source, to_status=target))
            tx.add_history(HistoryEntry(dossier_id=other.id, at=T0, actor="x", action="noise",
                                        from_status=None, to_status=DossierStatus.RECEIVED))
    with store_services.records.store.session(readonly=True) as tx:
        history = tx.history(first.id)
        assert [(h.action, h.from_status, h.to_status) for h in history] == steps
        assert {h.dossier_id for h in history} == {first.id}
        assert len(tx.history(other.id)) == 3
        assert tx.history(first.id + other.id + 1) == []


def test_dossier_sequence_is_per_agency_per_day(store_services: Services) -> None:
    store = store_services.records.store
    with store.session() as tx:
        first_three = [tx.next_dossier_seq(LAND, DAY) for _ in range(3)]
    with store.session() as tx:
        other_agency = tx.next_dossier_seq(WARD, DAY)
        next_day = tx.next_dossier_seq(LAND, DAY + timedelta(days=1))
        same_day_again = tx.next_dossier_seq(LAND, DAY)
    assert first_three == [1, 2, 3]
    assert (other_agency, next_day, same_day_again) == (1, 1, 4)


def _create_concurrently(services: Services, applicants: list[str]) -> list[str]:
    barrier = threading.Barrier(len(applicants))

    def create(applicant: str) -> str:
        barrier.wait(timeout=30)
        view = create_dossier(services.records, CLERK, CreateDossier(
            procedure_code=LAND_PROC, applicant_id=applicant, applicant_name="Trần Văn Bình"))
        return view.dossier.code

    with ThreadPoolExecutor(max_workers=len(applicants)) as pool:
        return list(pool.map(create, applicants))


def test_concurrent_creations_get_distinct_consecutive_codes(store_services: Services) -> None:
    _load_reference(store_services)
    n = 20 if store_services.engine.dialect.name == "postgresql" else 6
    codes = _create_concurrently(store_services, [f"0221900{i:05d}" for i in range(n)])
    assert sorted(codes) == [f"{LAND}-261119-{i:04d}" for i in range(1, n + 1)]
    assert count_rows(store_services.engine, "dossiers", "dossier_history", "audit_log") == {
        "dossiers": n, "dossier_history": n, "audit_log": n}
    report = verify_audit(store_services.records, ADMIN)
    assert (report.intact, report.checked) == (True, n)


def test_concurrent_creations_for_one_new_applicant(store_services: Services) -> None:
    _load_reference(store_services)
    codes = _create_concurrently(store_services, ["038190004321"] * 8)
    assert sorted(codes) == [f"{LAND}-261119-{i:04d}" for i in range(1, 9)]


def _take_a_number_then_fail(services: Services, taken: list[int]) -> None:
    with services.records.store.session() as tx:
        taken.append(tx.next_dossier_seq(LAND, DAY))
        raise RuntimeError("hủy giao dịch")


def test_rolled_back_transaction_returns_its_sequence_number(store_services: Services) -> None:
    _load_reference(store_services)
    deps = store_services.records
    cmd = CreateDossier(procedure_code=LAND_PROC, applicant_id=ALICE,
                        applicant_name="Nguyễn Thị Hương")
    assert create_dossier(deps, CLERK, cmd).dossier.code == f"{LAND}-261119-0001"
    taken: list[int] = []
    with pytest.raises(RuntimeError, match="hủy"):
        _take_a_number_then_fail(store_services, taken)
    assert taken == [2]
    assert create_dossier(deps, CLERK, cmd).dossier.code == f"{LAND}-261119-0002"

    # A use case refused after it took number 3 (the code is taken) gives it back too.
    with deps.store.session() as tx:
        tx.add_dossier(_dossier(f"{LAND}-261119-0003"))
    with pytest.raises(Conflict, match="0003"):
        create_dossier(deps, CLERK, replace(cmd, applicant_id="038190004321"))
    with deps.store.session(readonly=True) as tx:
        assert tx.get_person("038190004321") is None
    with store_services.engine.connect() as c:
        assert c.execute(sa.text("SELECT last_seq FROM dossier_counters")).all() == [(2,)]


def test_datetimes_come_back_aware_utc_and_exact(store_services: Services) -> None:
    _load_reference(store_services)
    hanoi = timezone(timedelta(hours=7))
    created = datetime(2026, 11, 19, 10, 0, 0, 123456, tzinfo=hanoi)
    due = datetime(2026, 12, 17, 10, 0, 0, 999999, tzinfo=UTC)
    store = store_services.records.store
    with store.session() as tx:
        stored = tx.add_dossier(replace(_dossier("d1"), created_at=created, received_at=created,
                                        due_at=due, finished_at=None))
        tx.add_history(HistoryEntry(dossier_id=stored.id, at=created, actor="tiepnhan",
                                    action="receive_at_desk", from_status=None,
                                    to_status=DossierStatus.RECEIVED))
        tx.append_audit(AuditEvent(actor="tiepnhan", action="x", object_type="dossier",
                                   object_id="d1"), at=created, key=b"k")
    with store.session(readonly=True) as tx:
        loaded = tx.get_dossier("d1")
        assert loaded is not None
        values = [loaded.created_at, loaded.received_at, loaded.due_at,
                  tx.history(stored.id)[0].at, next(tx.audit_entries()).at]
    assert values == [created, created, due, created, created]
    assert {v.tzinfo for v in values if v is not None} == {UTC}
    assert loaded.created_at == datetime(2026, 11, 19, 3, 0, 0, 123456, tzinfo=UTC)
    assert loaded.finished_at is None
    with pytest.raises(StatementError, match="naive datetime"), store.session() as tx:
        tx.add_dossier(replace(_dossier("d2"), created_at=datetime(2026, 11, 19)))  # noqa: DTZ001


def test_vietnamese_text_round_trips(store_services: Services) -> None:
    _load_reference(store_services)
    name = "Đặng Thị Ngọc Huyền Trương Ưng Ỷ"
    address = "Số 12 ngõ 34 phố Lê Thánh Tông, phường Hồng Gai, TP Hạ Long, tỉnh Quảng Ninh"
    comment = "Đề nghị bổ sung bản sao trích đo địa chính thửa đất — lần 2; ghi chú: «gấp»."
    store = store_services.records.store
    with store.session() as tx:
        tx.save_person(Person(owner_id=BOB, name=name, address=address))
        stored = tx.add_dossier(_dossier("d1", applicant=BOB))
        tx.add_history(HistoryEntry(dossier_id=stored.id, at=T0, actor="chuyenvien",
                                    action="request_supplement", comment=comment,
                                    from_status=DossierStatus.IN_REVIEW,
                                    to_status=DossierStatus.SUPPLEMENT_REQUESTED))
        written = tx.append_audit(AuditEvent(actor="chuyenvien", action="dossier.x",
                                             object_type="dossier", object_id="d1",
                                             detail={"ghi_chú": comment}), at=T0, key=b"k")
    with store.session(readonly=True) as tx:
        assert tx.get_person(BOB) == Person(owner_id=BOB, name=name, address=address)
        assert tx.history(stored.id)[0].comment == comment
        assert tx.audit_for_object("dossier", "d1") == [written]
        assert tx.get_procedure(LAND_PROC) == PROCEDURES[0]


def test_audit_chain_appends_and_links(store_services: Services) -> None:
    store = store_services.records.store
    with store.session() as tx:
        assert tx.audit_head() is None
        written = [tx.append_audit(AuditEvent(actor="a", action=f"act{i}", object_type="user",
                                              object_id=f"u{i % 2}"), at=T0, key=b"k")
                   for i in range(3)]
    with store.session(readonly=True) as tx:
        assert list(tx.audit_entries()) == written
        assert list(tx.audit_entries(after_seq=1)) == written[1:]
        assert tx.audit_head() == (3, written[2].hash)
        assert [e.prev_hash for e in written] == [GENESIS, written[0].hash, written[1].hash]
        assert tx.audit_hash_exists(written[1].hash) is True
        assert tx.audit_hash_exists("f" * 64) is False
        assert tx.audit_for_object("user", "u0") == [written[0], written[2]]


def _inbox_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(sa.text("SELECT object_id FROM audit_inbox")).scalars())


def _count_inbox_inserts(engine: sa.Engine) -> list[int]:
    """Counts the statements that insert into the inbox (a live tally, by an engine event)."""
    inserts = [0]

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        inserts[0] += statement.lstrip().upper().startswith("INSERT INTO AUDIT_INBOX")

    sa.event.listen(engine, "before_cursor_execute", seen)
    return inserts


def test_reads_recorded_together_all_land_on_one_intact_chain(store_services: Services) -> None:
    """Many threads recording reads at once, a chainer running (records.audit_writer): each
    caller returns only once its record is committed (in the inbox or already on the chain),
    the inbox inserts were batched (fewer statements than reads), and once the chainer stops
    every record is on one intact chain exactly once, the inbox empty."""
    store = store_services.records.store
    engine = store_services.engine
    inserts = _count_inbox_inserts(engine)
    writer = AuditWriter(store, key=store_services.records.audit_key, clock=ManualClock(T0))
    writer.start()
    start = threading.Barrier(16)

    def read(n: int) -> None:
        start.wait()
        for i in range(10):
            code = f"KQ-{n}-{i}"
            writer.append(AuditEvent(actor=f"reader{n}", action="result.download",
                                     object_type="result", object_id=code))
            with engine.connect() as c:  # committed once append returned, wherever it is
                found = c.execute(sa.text(
                    "SELECT (SELECT count(*) FROM audit_inbox WHERE object_id = :c)"
                    " + (SELECT count(*) FROM audit_log WHERE object_id = :c)"),
                    {"c": code}).scalar_one()
            assert found == 1, code

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(read, range(16)))
    writer.stop()
    with store.session(readonly=True) as tx:
        ids = [e.object_id for e in tx.audit_entries()]
        assert tx.queued_audits() == (0, None)
    assert sorted(ids) == sorted(f"KQ-{n}-{i}" for n in range(16) for i in range(10))
    assert verify_audit(store_services.records, ADMIN).intact
    assert 0 < inserts[0] < 160


def test_reads_wait_in_the_inbox_until_a_chainer_moves_them_in_order(
        store_services: Services) -> None:
    """Rows another process queued (its chainer gone) stay durable in the inbox; the next
    chainer moves them onto the chain in arrival order, each with the time of its read."""
    store = store_services.records.store
    key = store_services.records.audit_key
    with store.session() as tx:
        tx.queue_audits([(AuditEvent(actor="congdan", action="result.download",
                                     object_type="result", object_id=f"KQ-{i}",
                                     detail={"n": i, "ghi chú": "tải về"}),
                          T0 + timedelta(seconds=i)) for i in range(7)])
    assert sorted(_inbox_ids(store_services.engine)) == [f"KQ-{i}" for i in range(7)]
    with store.session() as tx:
        assert tx.queued_audits() == (7, T0)
        assert tx.chain_queued_audits(key=key, limit=5) == 5
    with store.session() as tx:
        assert tx.chain_queued_audits(key=key, limit=5) == 2
        assert tx.chain_queued_audits(key=key, limit=5) == 0
    with store.session(readonly=True) as tx:
        chained = list(tx.audit_entries())
        assert tx.queued_audits() == (0, None)
    assert [(e.object_id, e.at) for e in chained] == [
        (f"KQ-{i}", T0 + timedelta(seconds=i)) for i in range(7)]
    assert chained[0].detail == '{"ghi chú":"tải về","n":0}'
    assert verify_audit(store_services.records, ADMIN).intact


def test_a_read_that_cannot_be_recorded_fails_for_each_of_its_batch(
        store_services: Services) -> None:
    store = store_services.records.store
    writer = AuditWriter(store, key=b"k", clock=ManualClock(T0))
    with store_services.engine.begin() as c:  # the inbox gone: nothing can be recorded
        c.execute(sa.text("ALTER TABLE audit_inbox RENAME TO audit_inbox_away"))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="audit_inbox"):
            writer.append(AuditEvent(actor="a", action="result.download",
                                     object_type="result", object_id="KQ-1"))
    finally:
        with store_services.engine.begin() as c:
            c.execute(sa.text("ALTER TABLE audit_inbox_away RENAME TO audit_inbox"))
    with store.session(readonly=True) as tx:
        assert list(tx.audit_entries()) == []
        assert tx.queued_audits() == (0, None)


def test_a_change_chains_the_reads_recorded_before_it_ahead_of_itself(
        store_services: Services) -> None:
    """The chain keeps commit order: reads waiting in the inbox go onto the chain before the
    change that follows them, and the change's own entry is what append_audit returns."""
    store = store_services.records.store
    key = store_services.records.audit_key
    with store.session() as tx:
        tx.queue_audits([(AuditEvent(actor="congdan", action="result.download",
                                     object_type="result", object_id="KQ-1"), T0)])
    with store.session() as tx:
        change = tx.append_audit(AuditEvent(actor="chuyenvien", action="result.draft",
                                            object_type="result", object_id="KQ-1"),
                                 at=T0 + timedelta(seconds=1), key=key)
    with store.session(readonly=True) as tx:
        assert [(e.seq, e.action) for e in tx.audit_for_object("result", "KQ-1")] == [
            (1, "result.download"), (2, "result.draft")]
        assert tx.queued_audits() == (0, None)
    assert (change.seq, change.action) == (2, "result.draft")
    assert verify_audit(store_services.records, ADMIN).intact
