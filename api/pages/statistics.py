"""Statistics for the centre's managers: the report per receiving desk and period, on screen
and as a CSV file for Excel."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.pages.web import PageServices, PageUser, render
from records.authz import Principal
from records.calendar import VN_TZ
from records.errors import InvalidInput
from records.statistics import (
    BranchStatistics,
    StatisticsReport,
    StatisticsRequest,
    dossier_statistics,
)

router = APIRouter(include_in_schema=False)

DateParam = Annotated[str, Query(max_length=10)]
BranchParam = Annotated[str, Query(max_length=40)]

COLUMNS = (
    "Bộ phận tiếp nhận", "Tiếp nhận", "Trực tuyến", "Tỷ lệ trực tuyến (%)", "Đã giải quyết",
    "Đúng hạn", "Tỷ lệ đúng hạn (%)", "Giải quyết quá hạn", "Đang quá hạn", "Tổng quá hạn",
    "Thời gian giải quyết TB (ngày làm việc)", "Thời hạn luật định TB (ngày làm việc)",
    "Giấy tờ", "Giấy tờ tái sử dụng", "Tỷ lệ tái sử dụng (%)", "Lượt đánh giá",
    "Điểm hài lòng TB (1-5)",
)


def _default_period(services: PageServices) -> tuple[date, date]:
    """From the first day of the month five months back to today: about half a year."""
    today = services.clock.now().astimezone(VN_TZ).date()
    month = today.month - 5
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1), today


def _parse(value: str, field: str, fallback: date, errors: dict[str, str]) -> date:
    if not value.strip():
        return fallback
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[field] = "Ngày không hợp lệ (nhập theo dạng năm-tháng-ngày)."
        return fallback


def _request(services: PageServices, tu: str, den: str, ban: str,
             errors: dict[str, str]) -> StatisticsRequest:
    first, last = _default_period(services)
    return StatisticsRequest(date_from=_parse(tu, "tu", first, errors),
                             date_to=_parse(den, "den", last, errors),
                             branch_code=ban.strip() or None)


# The use case names its fields in English; the form's are short Vietnamese words.
_FORM_FIELDS = {"date_from": "tu", "date_to": "den", "branch_code": "ban"}


def _report(services: PageServices, who: Principal, wanted: StatisticsRequest,
            errors: dict[str, str]) -> StatisticsReport | None:
    try:
        return dossier_statistics(services.records, who, wanted)
    except InvalidInput as exc:
        errors[_FORM_FIELDS.get(exc.field or "", "_form")] = exc.message
        return None


@router.get("/thong-ke")
def statistics_page(request: Request, services: PageServices, who: PageUser,
                    tu: DateParam = "", den: DateParam = "", ban: BranchParam = "") -> Response:
    errors: dict[str, str] = {}
    wanted = _request(services, tu, den, ban, errors)
    report = _report(services, who, wanted, errors) if not errors else None
    if report is None:
        # Still asked of the use case, with the default period: it decides who may see the
        # statistics, and it lists the desks for the form.
        first, last = _default_period(services)
        fallback = dossier_statistics(services.records, who, StatisticsRequest(
            date_from=first, date_to=last))
        branches = fallback.branches
    else:
        branches = report.branches
    form = {"tu": tu or wanted.date_from.isoformat(), "den": den or wanted.date_to.isoformat(),
            "ban": ban}
    return render(request, "pages/statistics/report.html", {
        "report": report, "errors": errors, "form": form,
        "branch_options": [("", "Tất cả bộ phận tiếp nhận"),
                           *((b.code, b.name) for b in branches)],
        "query": f"tu={form['tu']}&den={form['den']}&ban={ban}",
    }, user=who, status_code=422 if errors else 200)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _csv_row(line: BranchStatistics) -> list[str | int]:
    return [line.branch_name, line.received, line.received_online,
            _number(line.online_share), line.finished, line.finished_on_time,
            _number(line.on_time_rate), line.finished_late, line.open_overdue, line.overdue,
            _number(line.average_processing_days), _number(line.average_legal_days),
            line.papers, line.papers_reused, _number(line.reuse_rate), line.ratings,
            _number(line.average_score)]


def report_csv(report: StatisticsReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"Thống kê giải quyết hồ sơ từ {report.date_from:%d/%m/%Y} đến "
                     f"{report.date_to:%d/%m/%Y}"])
    writer.writerow(COLUMNS)
    for line in report.rows:
        writer.writerow(_csv_row(line))
    if len(report.rows) > 1:
        writer.writerow(_csv_row(report.total))
    return out.getvalue()


@router.get("/thong-ke.csv")
def statistics_csv(services: PageServices, who: PageUser, tu: DateParam = "",
                   den: DateParam = "", ban: BranchParam = "") -> Response:
    errors: dict[str, str] = {}
    wanted = _request(services, tu, den, ban, errors)
    if errors:
        first, last = _default_period(services)
        dossier_statistics(services.records, who, StatisticsRequest(date_from=first,
                                                                    date_to=last))
        field, message = next(iter(errors.items()))
        raise InvalidInput("invalid_date", message, field=field)
    report = dossier_statistics(services.records, who, wanted)
    name = f"thong-ke-{report.date_from:%Y%m%d}-{report.date_to:%Y%m%d}.csv"
    # The byte order mark makes Excel read the file as UTF-8 (Vietnamese letters intact).
    return Response(("\ufeff" + report_csv(report)).encode("utf-8"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
