"""Login throttling: a sliding window of failed logins per client address and per attempted
name, kept in this process.

It sits in front of the per-account lockout (five wrong passwords lock an account for a
while, ``records/accounts.py``) and covers what the lockout cannot: one address guessing
across many names, and guesses at names that do not exist. Only attempts that tested a
password or a one-time code and failed are counted (OWASP Authentication Cheat Sheet,
"Login Throttling"): a centre's staff behind one address logging in at 7:30 is not a flood,
and a refused (429) attempt tests nothing, so it is not counted either.

The counts live in memory: with several server processes each has its own window, so the
effective limit is that many times the setting. The client address is
``request.client.host``; behind a reverse proxy, run uvicorn with ``--proxy-headers
--forwarded-allow-ips=<proxy>`` so that it is the citizen's address, not the proxy's.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from starlette.requests import Request

from records.errors import DomainError, Unauthenticated
from records.ports import Clock

__all__ = ["COUNTED_FAILURES", "LoginThrottle", "Throttled", "TooManyAttempts",
           "client_address"]

T = TypeVar("T")

# The refusals that tested a guess. "account_locked" and "otp_required" did not.
COUNTED_FAILURES = frozenset({"invalid_credentials", "otp_invalid", "invalid_client"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Throttled:
    retry_after: int  # whole seconds until the oldest counted failure leaves the window


class TooManyAttempts(DomainError):
    """Too many failed logins from this address or for this name, just now."""

    http_status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__("too_many_attempts", "Quá nhiều lần đăng nhập không thành công. "
                         f"Vui lòng thử lại sau khoảng {minutes} phút.")
        self.retry_after = retry_after


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


class LoginThrottle:
    """At most ``limit`` failed logins per ``window`` for each client address and for each
    attempted name; beyond that, attempts are refused until the window has slid on."""

    def __init__(self, *, limit: int, window: timedelta, clock: Clock,
                 max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    @staticmethod
    def _keys(address: str | None, name: str) -> list[tuple[str, str]]:
        keys = [("name", name.strip().casefold())]
        if address:
            keys.append(("address", address))
        return keys

    def _live(self, key: tuple[str, str], now: datetime) -> deque[datetime] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, *, address: str | None, name: str) -> Throttled | None:
        """Whether an attempt now would be refused, and for how long."""
        now = self._clock.now()
        with self._lock:
            waits = [
                times[0] + self._window - now
                for key in self._keys(address, name)
                if (times := self._live(key, now)) is not None and len(times) >= self._limit
            ]
        if not waits:
            return None
        return Throttled(retry_after=max(1, math.ceil(max(waits).total_seconds())))

    def failed(self, *, address: str | None, name: str) -> None:
        now = self._clock.now()
        with self._lock:
            for key in self._keys(address, name):
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > self._max_keys:
                self._shrink(now)

    def _shrink(self, now: datetime) -> None:
        for key in list(self._failures):
            self._live(key, now)
        # Still too many live keys (a spray of names): forget the oldest first.
        for key in list(self._failures)[:max(0, len(self._failures) - self._max_keys)]:
            del self._failures[key]

    def attempt(self, *, address: str | None, name: str, login: Callable[[], T]) -> T:
        """Run ``login`` unless throttled (``TooManyAttempts``); count it if it fails on a
        wrong guess."""
        throttled = self.check(address=address, name=name)
        if throttled is not None:
            raise TooManyAttempts(throttled.retry_after)
        try:
            return login()
        except Unauthenticated as refused:
            if refused.code in COUNTED_FAILURES:
                self.failed(address=address, name=name)
            raise
