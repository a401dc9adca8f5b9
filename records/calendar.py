"""Working-day arithmetic for legal processing times.

A procedure's processing time is counted in working days: weekends and configured public
holidays are excluded, the day of receipt is not counted [Decree 61/2018 Art. 19]. The
result is due at the centre's closing time on the last counted day, in Vietnam time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["VN_TZ", "WorkingCalendar"]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Saturday and Sunday [Labour Code 2019 Art. 105 sets the working week; centres may differ].
_DEFAULT_WEEKEND = frozenset({5, 6})


@dataclass(frozen=True, kw_only=True)
class WorkingCalendar:
    """Which days count, configured by an administrator.

    ``holidays`` are days off that would otherwise be working days (Tết, 30/4, 1/5, 2/9 and
    their compensatory days); ``working_weekend_days`` are weekend days declared working days
    when the government swaps a day.
    """

    holidays: frozenset[date] = field(default_factory=frozenset)
    working_weekend_days: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = _DEFAULT_WEEKEND
    closing_time: time = time(17, 0)

    @classmethod
    def of(cls, holidays: Iterable[date], **kwargs: object) -> WorkingCalendar:
        return cls(holidays=frozenset(holidays), **kwargs)  # type: ignore[arg-type]

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekend_days:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        counted = 0
        while counted < days:
            current += timedelta(days=1)
            if self.is_working_day(current):
                counted += 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def due_at(self, received_at: datetime, working_days: int) -> datetime:
        """When a result received at ``received_at`` is due, as an aware UTC datetime."""
        local_day = received_at.astimezone(VN_TZ).date()
        due_day = self.add_working_days(local_day, working_days)
        return datetime.combine(due_day, self.closing_time, tzinfo=VN_TZ).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(VN_TZ).date()
