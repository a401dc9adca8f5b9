"""Working-day arithmetic: weekends, public holidays, swapped days and the due time.

Dates were checked by hand against a 2026 calendar: 2026-02-13 and 2026-11-19 are a Friday
and a Thursday; Tết 2026 is taken as the working days Monday 16 to Friday 20 February.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from records.calendar import VN_TZ, WorkingCalendar

pytestmark = pytest.mark.unit

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TET_2026 = frozenset(date(2026, 2, day) for day in range(16, 21))
# 30/4 and 1/5 (Thursday, Friday) and National Day 2/9 with its eve 1/9 (Tuesday, Wednesday).
OTHER_2026 = frozenset({date(2026, 4, 30), date(2026, 5, 1), date(2026, 9, 1),
                        date(2026, 9, 2)})
CAL = WorkingCalendar.of(TET_2026 | OTHER_2026)
PLAIN = WorkingCalendar()


def test_the_2026_dates_used_here_fall_on_the_stated_weekdays() -> None:
    assert date(2026, 2, 13).weekday() == 4  # Friday
    assert date(2026, 11, 19).weekday() == 3  # Thursday
    assert date(2026, 11, 21).weekday() == 5  # Saturday


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 11, 19), True),  # Thursday
    (date(2026, 11, 21), False),  # Saturday
    (date(2026, 11, 22), False),  # Sunday
    (date(2026, 2, 17), False),  # Tết, a Tuesday
    (date(2026, 9, 2), False),  # National Day, a Wednesday
    (date(2026, 2, 23), True),  # the Monday after Tết
])
def test_is_working_day(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_across_the_weekend() -> None:
    thursday = date(2026, 11, 19)
    assert CAL.add_working_days(thursday, 1) == date(2026, 11, 20)
    assert CAL.add_working_days(thursday, 2) == date(2026, 11, 23)
    assert CAL.add_working_days(thursday, 5) == date(2026, 11, 26)
    assert CAL.add_working_days(thursday, 15) == date(2026, 12, 10)


def test_across_tet_and_its_two_weekends() -> None:
    # Friday 13: Sat 14, Sun 15 weekend; 16-20 Tết; Sat 21, Sun 22 weekend; Mon 23 is day 1.
    friday = date(2026, 2, 13)
    assert CAL.add_working_days(friday, 1) == date(2026, 2, 23)
    assert CAL.add_working_days(friday, 3) == date(2026, 2, 25)
    assert PLAIN.add_working_days(friday, 3) == date(2026, 2, 18)  # without the holidays


def test_across_the_april_and_september_holidays() -> None:
    # Wednesday 29 April: 30/4 and 1/5 off, then the weekend; day 1 is Monday 4 May.
    assert CAL.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)
    # Monday 31 August: day 1 is Thursday 3 September.
    assert CAL.add_working_days(date(2026, 8, 31), 1) == date(2026, 9, 3)


def test_a_swapped_working_saturday_counts() -> None:
    swapped = date(2026, 2, 7)  # a Saturday declared a working day
    cal = WorkingCalendar(holidays=TET_2026, working_weekend_days=frozenset({swapped}))
    assert cal.is_working_day(swapped) is True
    assert cal.is_working_day(date(2026, 2, 8)) is False
    assert cal.add_working_days(date(2026, 2, 6), 1) == swapped
    assert CAL.add_working_days(date(2026, 2, 6), 1) == date(2026, 2, 9)
    assert cal.working_days_between(date(2026, 2, 6), date(2026, 2, 9)) == 2


def test_a_swapped_day_wins_over_a_holiday_on_the_same_date() -> None:
    day = date(2026, 2, 21)  # a Saturday
    cal = WorkingCalendar(holidays=frozenset({day}), working_weekend_days=frozenset({day}))
    assert cal.is_working_day(day) is True


def test_receipt_on_a_saturday_counts_from_monday() -> None:
    saturday = date(2026, 11, 21)
    assert CAL.add_working_days(saturday, 1) == date(2026, 11, 23)
    assert CAL.add_working_days(saturday, 3) == date(2026, 11, 25)
    received = datetime(2026, 11, 21, 9, 30, tzinfo=VN)
    assert CAL.due_at(received, 1) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_zero_days_is_the_same_day_and_negative_is_refused() -> None:
    assert CAL.add_working_days(date(2026, 11, 21), 0) == date(2026, 11, 21)
    assert CAL.due_at(datetime(2026, 11, 19, 8, 0, tzinfo=VN), 0) == datetime(
        2026, 11, 19, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="must not be negative"):
        CAL.add_working_days(date(2026, 11, 19), -1)
    with pytest.raises(ValueError, match="must not be negative"):
        CAL.due_at(datetime(2026, 11, 19, 8, 0, tzinfo=VN), -3)


def test_due_at_is_closing_time_in_vietnam_returned_in_utc() -> None:
    due = CAL.due_at(datetime(2026, 2, 13, 10, 0, tzinfo=VN), 3)
    assert due == datetime(2026, 2, 25, 10, 0, tzinfo=UTC)
    assert due.tzinfo is UTC
    local = due.astimezone(VN_TZ)
    assert (local.date(), local.time()) == (date(2026, 2, 25), time(17, 0))
    custom = WorkingCalendar(closing_time=time(16, 30))
    assert custom.due_at(datetime(2026, 11, 19, 10, 0, tzinfo=VN), 1) == datetime(
        2026, 11, 20, 9, 30, tzinfo=UTC)


def test_due_at_counts_from_the_vietnam_day_of_receipt() -> None:
    # 20:00 UTC on Thursday is 03:00 on Friday in Vietnam: day 1 is Monday.
    late_utc = datetime(2026, 11, 19, 20, 0, tzinfo=UTC)
    assert CAL.due_at(late_utc, 1) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert CAL.local_date(late_utc) == date(2026, 11, 20)
    # 16:59 UTC on Thursday is 23:59 Thursday in Vietnam: day 1 is Friday.
    assert CAL.due_at(datetime(2026, 11, 19, 16, 59, tzinfo=UTC), 1) == datetime(
        2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "days"), [
    (date(2026, 11, 19), date(2026, 11, 19), 0),
    (date(2026, 11, 19), date(2026, 11, 20), 1),
    (date(2026, 11, 19), date(2026, 11, 22), 1),  # Friday only
    (date(2026, 11, 19), date(2026, 11, 25), 4),
    (date(2026, 11, 25), date(2026, 11, 19), 0),  # end before start
    (date(2026, 2, 13), date(2026, 2, 22), 0),  # Tết and two weekends
    (date(2026, 2, 13), date(2026, 2, 25), 3),
])
def test_working_days_between(start: date, end: date, days: int) -> None:
    assert CAL.working_days_between(start, end) == days


def test_a_year_has_the_expected_number_of_working_days() -> None:
    # 2026 has 261 weekdays (52 weeks and a Thursday); all 9 holidays above fall on weekdays.
    weekdays = sum(1 for n in range(365) if (date(2026, 1, 1) + timedelta(days=n)).weekday() < 5)
    assert weekdays == 261
    assert CAL.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 261 - 9


@given(start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
       n=st.integers(min_value=0, max_value=60))
def test_counting_back_the_days_added_gives_the_same_number(start: date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, end) == n
    if n > 0:
        assert CAL.is_working_day(end)
        assert end > start
    else:
        assert end == start
