"""The managers' statistics page and its CSV export, on a known set of dossiers.

The dossiers are written straight into the store (any state, any date, as months of work
would have left them), so that every number of the report can be worked out by hand. On
SQLite and, where a server answers, on PostgreSQL: the aggregates are SQL.

The period is November 2026 and "now" is Wednesday 25 November, 10:00 in Hà Nội::

    desk A (provincial centre), land procedure, 20 working days
      A1  received 02/11 online, returned 20/11 (due 30/11): on time, 3 papers (1 reused),
          rated 4
      A2  received 01/10, returned 10/11 (due 29/10): settled late in the period
      A3  received 03/11, in review, due 01/12: open, not overdue
      A4  received 05/10, in review, due 02/11: open and overdue
      A5  received 04/11, waiting for a supplement, due 20/11: the clock is stopped
      A6  received 05/11, refused 12/11: settled on time
      A7  received 06/11, withdrawn 07/11: not settled
    desk B (ward), birth registration, 1 working day
      B1  received 09/11, returned 10/11: on time, 2 papers, rated 5
      B2  received 12/11, returned 16/11 (due 13/11): late, rated 2
      B3  received 01/12: outside the period
      B4  received 20/10, returned 21/10, rated 22/10: outside the period
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from api.demo import BRANCH_PROVINCE, BRANCH_WARD, PROCEDURES
from records.calendar import VN_TZ
from records.model import (
    CopyKind,
    Document,
    Dossier,
    DossierStatus,
    Person,
    Rating,
    ReuseStatus,
)
from tests.fixtures.app import Api, running_api
from tests.fixtures.web import PageClient, field_errors, page_text

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Hà Nội
LAND, BIRTH = PROCEDURES[0], PROCEDURES[1]
PERIOD = "tu=2026-11-01&den=2026-11-30"
S = DossierStatus


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=VN_TZ).astimezone(UTC)


def _due(day: str) -> datetime:
    return _at(day, 17)


# code: (branch, procedure, status, received, due, finished, online)
DOSSIERS: dict[str, tuple[str, str, DossierStatus, str, str, str | None, bool]] = {
    "A1": (BRANCH_PROVINCE, LAND.code, S.RETURNED, "2026-11-02", "2026-11-30", "2026-11-20",
           True),
    "A2": (BRANCH_PROVINCE, LAND.code, S.RETURNED, "2026-10-01", "2026-10-29", "2026-11-10",
           False),
    "A3": (BRANCH_PROVINCE, LAND.code, S.IN_REVIEW, "2026-11-03", "2026-12-01", None, False),
    "A4": (BRANCH_PROVINCE, LAND.code, S.IN_REVIEW, "2026-10-05", "2026-11-02", None, False),
    "A5": (BRANCH_PROVINCE, LAND.code, S.SUPPLEMENT_REQUESTED, "2026-11-04", "2026-11-20",
           None, False),
    "A6": (BRANCH_PROVINCE, LAND.code, S.REFUSED, "2026-11-05", "2026-12-03", "2026-11-12",
           False),
    "A7": (BRANCH_PROVINCE, LAND.code, S.STOPPED, "2026-11-06", "2026-12-04", "2026-11-07",
           False),
    "B1": (BRANCH_WARD, BIRTH.code, S.RETURNED, "2026-11-09", "2026-11-10", "2026-11-10",
           False),
    "B2": (BRANCH_WARD, BIRTH.code, S.RETURNED, "2026-11-12", "2026-11-13", "2026-11-16",
           False),
    "B3": (BRANCH_WARD, BIRTH.code, S.IN_REVIEW, "2026-12-01", "2026-12-02", None, False),
    "B4": (BRANCH_WARD, BIRTH.code, S.RETURNED, "2026-10-20", "2026-10-21", "2026-10-21",
           False),
}
RATINGS = {"A1": (4, "2026-11-21"), "B1": (5, "2026-11-11"), "B2": (2, "2026-11-17"),
           "B4": (5, "2026-10-22")}
PAPERS = {"A1": (ReuseStatus.NEW, ReuseStatus.NEW, ReuseStatus.REUSED_FROM_STORE),
          "A2": (ReuseStatus.NEW, ReuseStatus.REUSED_FROM_STORE),
          "B1": (ReuseStatus.NEW, ReuseStatus.NEW)}
OWNER = "022190005555"

# Worked out by hand from the table above: (received, online, settled, on time, late,
# open overdue, mean working days taken, mean legal days, papers, reused, ratings, score).
# A1 took 14 working days (03/11 to 20/11), A2 28, A6 5; B1 1, B2 2.
EXPECTED = {
    "A": (5, 1, 3, 2, 1, 1, 15.7, 20.0, 3, 1, 1, 4.0),
    "B": (2, 0, 2, 1, 1, 0, 1.5, 1.0, 2, 0, 2, 3.5),
    "total": (7, 1, 5, 3, 2, 1, 10.0, 12.4, 5, 1, 3, 3.67),
}


def _figures(line: object) -> tuple[object, ...]:
    names = ("received", "received_online", "finished", "finished_on_time", "finished_late",
             "open_overdue", "average_processing_days", "average_legal_days", "papers",
             "papers_reused", "ratings", "average_score")
    return tuple(getattr(line, n) for n in names)


def _load(api: Api) -> None:
    with api.services.records.store.session() as tx:
        tx.save_person(Person(owner_id=OWNER, name="Trần Văn Bình"))
        for n, (name, (branch, procedure, status, received, due, finished, online)) in \
                enumerate(DOSSIERS.items(), start=1):
            agency = LAND.agency_code if procedure == LAND.code else BIRTH.agency_code
            dossier = tx.add_dossier(Dossier(
                id=0, code=f"TEST-{name}", procedure_code=procedure, agency_code=agency,
                branch_code=branch, applicant_id=OWNER, status=status,
                created_at=_at(received, 8), created_by="tiepnhan",
                received_at=_at(received), clock_started_at=_at(received), due_at=_due(due),
                finished_at=_at(finished, 10) if finished else None, online=online))
            for k, reuse in enumerate(PAPERS.get(name, ())):
                tx.add_document(Document(
                    id=0, dossier_id=dossier.id, doc_code=f"TEST-{name}-{k}",
                    component_code=f"C{k}", document_type=f"type{k}", owner_id=OWNER,
                    created_at=_at(received), created_by="tiepnhan", copy_kind=CopyKind.COPY,
                    reuse_status=reuse))
            if name in RATINGS:
                score, day = RATINGS[name]
                tx.add_rating(Rating(dossier_id=dossier.id, owner_id=OWNER, score=score,
                                     comment="", created_at=_at(day, 15)))
            assert dossier.id == n


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    url = str(request.getfixturevalue("postgres_db_url")) if request.param == "postgres" \
        else None
    with running_api(tmp_path, NOW, database_url=url) as running:
        _load(running)
        yield running


def test_the_report_counts_each_desk_as_worked_out_by_hand(api: Api) -> None:
    from records.statistics import StatisticsRequest, dossier_statistics
    from tests.fixtures.app import principal

    report = dossier_statistics(api.services.records, principal(api.services, "quantri"),
                                StatisticsRequest(date_from=date(2026, 11, 1),
                                                  date_to=date(2026, 11, 30)))
    rows = {line.branch_code: line for line in report.rows}
    assert list(rows) == [BRANCH_WARD, BRANCH_PROVINCE]  # every desk, in code order
    assert _figures(rows[BRANCH_PROVINCE]) == EXPECTED["A"]
    assert _figures(rows[BRANCH_WARD]) == EXPECTED["B"]
    assert _figures(report.total) == EXPECTED["total"]
    total = report.total
    assert (total.on_time_rate, total.online_share, total.reuse_rate, total.overdue) == (
        60.0, 14.3, 20.0, 3)

    page = PageClient.logged_in(api, "quantri").get(f"/thong-ke?{PERIOD}")
    assert page.status_code == 200, page.text
    text = page_text(page.text)
    for expected in ("Từ 01/11/2026 đến 30/11/2026", "60%", "14,3%",
                     "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh 5 1 (20%) 3 2 (66,7%) "
                     "2 (1 trễ, 1 đang quá hạn) 15,7 / 20 1/3 (33,3%) 4,00 (1 lượt)",
                     "Bộ phận một cửa phường Hạ Long 2 0 (0%) 2 1 (50%) 1 (1 trễ, 0 đang quá "
                     "hạn) 1,5 / 1 0/2 (0%) 3,50 (2 lượt)",
                     "Tổng cộng 7 1 (14,3%) 5 3 (60%) 3 (2 trễ, 1 đang quá hạn) 10 / 12,4 1/5 "
                     "(20%) 3,67 (3 lượt)"):
        assert expected in text, expected


def test_one_desk_and_an_empty_period(api: Api) -> None:
    manager = PageClient.logged_in(api, "lanhdao")  # the agency's leader may see them too
    one = page_text(manager.get(f"/thong-ke?{PERIOD}&ban={BRANCH_WARD}").text)
    assert "Bộ phận một cửa phường Hạ Long 2 0 (0%)" in one
    assert "Trung tâm Phục vụ" not in one.split("Bộ phận tiếp nhận", 2)[-1]
    assert "Tổng cộng" not in one
    empty = page_text(manager.get("/thong-ke?tu=2025-01-01&den=2025-01-31").text)
    assert "Tổng cộng 0 0 (—) 0 0 (—) 0 (0 trễ, 0 đang quá hạn) — / — 0/0 (—) — (0 lượt)" \
        in empty


def test_the_csv_export_is_the_same_table_for_excel(api: Api) -> None:
    answer = PageClient.logged_in(api, "quantri").get(f"/thong-ke.csv?{PERIOD}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == \
        'attachment; filename="thong-ke-20261101-20261130.csv"'
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["Thống kê giải quyết hồ sơ từ 01/11/2026 đến 30/11/2026"]
    assert rows[1][:7] == ["Bộ phận tiếp nhận", "Tiếp nhận", "Trực tuyến",
                           "Tỷ lệ trực tuyến (%)", "Đã giải quyết", "Đúng hạn",
                           "Tỷ lệ đúng hạn (%)"]
    assert rows[2:] == [
        ["Bộ phận một cửa phường Hạ Long", "2", "0", "0", "2", "1", "50", "1", "0", "1",
         "1.5", "1", "2", "0", "0", "2", "3.5"],
        ["Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh", "5", "1", "20", "3", "2",
         "66.7", "1", "1", "2", "15.7", "20", "3", "1", "33.3", "1", "4"],
        ["Tổng cộng", "7", "1", "14.3", "5", "3", "60", "2", "1", "3", "10", "12.4", "5", "1",
         "20", "3", "3.67"]]
    one = PageClient.logged_in(api, "quantri").get(f"/thong-ke.csv?{PERIOD}&ban={BRANCH_WARD}")
    assert [r[0] for r in csv.reader(io.StringIO(one.content.decode("utf-8-sig")))][2:] == [
        "Bộ phận một cửa phường Hạ Long"]


@pytest.mark.parametrize("username", ["tiepnhan", "chuyenvien", "congdan"])
def test_only_managers_see_the_statistics(api: Api, username: str) -> None:
    user = PageClient.logged_in(api, username)
    for url in (f"/thong-ke?{PERIOD}", f"/thong-ke.csv?{PERIOD}", "/thong-ke?tu=sai"):
        refused = user.get(url)
        assert refused.status_code == 403, (url, refused.text)
        assert "Bạn không có quyền thực hiện thao tác này." in page_text(refused.text)
        assert "Tổng cộng" not in refused.text
    anonymous = PageClient.anonymous(api).get("/thong-ke.csv")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/dang-nhap?next=")


def test_a_wrong_period_is_shown_next_to_its_field(api: Api) -> None:
    manager = PageClient.logged_in(api, "quantri")
    bad = manager.get("/thong-ke?tu=2026-13-01&den=2026-11-30")
    assert bad.status_code == 422
    assert field_errors(bad.text) == {
        "tu": "Ngày không hợp lệ (nhập theo dạng năm-tháng-ngày)."}
    reversed_ = manager.get("/thong-ke?tu=2026-11-30&den=2026-11-01")
    assert reversed_.status_code == 422
    assert field_errors(reversed_.text) == {"den": "Ngày kết thúc phải từ ngày bắt đầu trở đi."}
    unknown = manager.get(f"/thong-ke?{PERIOD}&ban=KHONG-CO")
    assert field_errors(unknown.text) == {"ban": "Không có bộ phận tiếp nhận này."}
    assert manager.get("/thong-ke.csv?tu=2026-11-30&den=2026-11-01").status_code == 422
