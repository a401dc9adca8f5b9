"""The e-result code and the QR code printed on every e-result.

**The e-result code** (mã kết quả). No official format was found (DOMAIN "Codes"), so we
choose ``KQ-{agency e-ID}-{YYYY}-{NNNNNN}``, e.g. ``KQ-000.00.12.H40-2026-000125``:

- ``KQ`` (kết quả) tells it apart from a dossier code at a glance;
- the agency e-ID (mã định danh, as in the national portal; Circular 04/2025 writes it
  ``MX1X2.Y1Y2Y3.Z1Z2``) says who issued it, and contains no hyphen, so the code splits
  unambiguously;
- the sequence restarts every year per agency, like document numbers [Decree 30/2020
  Art. 15], and six digits leave room for the busiest agency.

**The QR code** carries ``{base}/xac-minh/{code}?d={digest}``. The digest is an HMAC-SHA256
under a server key of the code and the SHA-256 of the draft's content, cut to 80 bits (16
base32 characters). Whoever holds the paper can check it at the public page; whoever knows
only a code (they are sequential) learns nothing, and cannot forge a digest without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import segno

__all__ = [
    "ResultCode",
    "digest_matches",
    "parse_result_code",
    "qr_png",
    "result_code",
    "verification_digest",
    "verification_url",
]

_AGENCY = r"[A-Z0-9]{1,10}(?:\.[A-Z0-9]{1,10}){0,4}"
_CODE = re.compile(rf"KQ-(?P<agency>{_AGENCY})-(?P<year>[0-9]{{4}})-(?P<seq>[0-9]{{6}})")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DIGEST_BYTES = 10  # 80 bits: 16 base32 characters, no padding
_DOMAIN = b"motcua/result-verification/v1"
_MIN_KEY_BYTES = 16


@dataclass(frozen=True, kw_only=True, slots=True)
class ResultCode:
    """The parts of an e-result code."""

    agency_code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return f"KQ-{self.agency_code}-{self.year:04d}-{self.seq:06d}"


def result_code(agency_code: str, year: int, seq: int) -> str:
    """Format an e-result code, ``KQ-{agency e-ID}-{YYYY}-{NNNNNN}``."""
    if not re.fullmatch(_AGENCY, agency_code):
        raise ValueError(f"not an agency e-ID: {agency_code!r}")
    if not 1000 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    if not 1 <= seq <= 999_999:
        raise ValueError(f"sequence out of range: {seq}")
    return str(ResultCode(agency_code=agency_code, year=year, seq=seq))


def parse_result_code(code: str) -> ResultCode:
    """Split an e-result code into its parts; ``ValueError`` if it is not one."""
    match = _CODE.fullmatch(code)
    if match is None or int(match["seq"]) == 0:
        raise ValueError(f"not an e-result code: {code!r}")
    return ResultCode(agency_code=match["agency"], year=int(match["year"]),
                      seq=int(match["seq"]))


def verification_digest(*, key: bytes, result_code: str, content_sha256: str) -> str:
    """The 16-character base32 digest that binds ``result_code`` to the draft's content."""
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the key must have at least {_MIN_KEY_BYTES} bytes")
    parse_result_code(result_code)
    content = content_sha256.lower()
    if not _SHA256.fullmatch(content):
        raise ValueError("content_sha256 must be 64 hexadecimal digits")
    # Domain separation and a delimiter that occurs in neither field.
    message = b"\n".join((_DOMAIN, result_code.encode("ascii"), content.encode("ascii")))
    mac = hmac.new(key, message, hashlib.sha256).digest()[:_DIGEST_BYTES]
    return base64.b32encode(mac).decode("ascii")


def digest_matches(*, key: bytes, result_code: str, content_sha256: str,
                   digest: str) -> bool:
    """Compare a digest read from a QR code or typed in, in constant time.

    Case and surrounding blanks are ignored (people retype the code from paper).
    """
    expected = verification_digest(key=key, result_code=result_code,
                                   content_sha256=content_sha256)
    given = digest.strip().upper().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected.encode("ascii"), given)


def verification_url(base_url: str, code: str, digest: str) -> str:
    """``{base}/xac-minh/{code}?d={digest}``: the public page that checks a paper copy."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.query:
        raise ValueError(f"not a base URL: {base_url!r}")
    parse_result_code(code)
    return f"{base_url.rstrip('/')}/xac-minh/{quote(code, safe='')}?d={quote(digest, safe='')}"


def qr_png(url: str, *, scale: int = 4) -> bytes:
    """The QR code of ``url`` as an opaque black-on-white PNG, with its quiet zone.

    Error correction Q (25 %) because the code is printed near the seal and may be stamped
    or creased; opaque so the PDF needs no soft mask.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    code = segno.make_qr(url, error="q", boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return out.getvalue()
