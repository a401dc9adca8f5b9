"""The one-time codes of two-factor login: RFC 6238 (TOTP over RFC 4226 HOTP, SHA-1)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from records.accounts import totp_code

pytestmark = pytest.mark.unit

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")

# (Unix time, the published 8-digit TOTP). Authenticator apps show six digits: the same
# truncated value modulo 10**6, i.e. the last six digits of the published one.
RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_secret_is_the_rfc_seed_in_base32() -> None:
    assert SECRET == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(("seconds", "published"), RFC6238_SHA1)
def test_rfc6238_sha1_vectors_six_digit_variant(seconds: int, published: str) -> None:
    assert totp_code(SECRET, _at(seconds)) == published[-6:]


def test_secret_may_be_lower_case_and_unpadded() -> None:
    padded = base64.b32encode(b"0123456789ab").decode()  # 20 characters and 4 "="
    assert padded.endswith("====")
    assert totp_code(padded.rstrip("=").lower(), _at(59)) == totp_code(padded, _at(59))


def test_code_is_constant_within_a_30_second_step_and_changes_at_its_edge() -> None:
    step_start = _at(1111111110)  # a multiple of 30
    same = {totp_code(SECRET, step_start + timedelta(seconds=s)) for s in range(30)}
    assert len(same) == 1
    assert totp_code(SECRET, step_start - timedelta(seconds=1)) == "081804"  # previous step
    assert totp_code(SECRET, step_start + timedelta(seconds=30)) not in same


@pytest.mark.parametrize("offset", [-2, -1, 1, 2])
def test_offset_is_a_whole_step_earlier_or_later(offset: int) -> None:
    now = _at(1234567890)
    assert totp_code(SECRET, now, offset=offset) == \
        totp_code(SECRET, now + timedelta(seconds=30 * offset))


def test_the_plus_minus_one_step_window_names_three_distinct_codes() -> None:
    # The login accepts offsets -1, 0 and +1 (a phone clock a little off): three codes, each
    # the published one of its step.
    now = _at(1111111111)
    window = [totp_code(SECRET, now, offset=o) for o in (-1, 0, 1)]
    assert window[0] == "081804"  # 1111111109 is in the step before 1111111111's
    assert window[1] == "050471"
    assert len(set(window)) == 3
