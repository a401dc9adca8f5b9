"""Identifiers: personal ids, tax codes, dossier codes and digitised document ids."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date

from records.errors import InvalidInput

__all__ = [
    "DEFAULT_DOSSIER_CODE_FORMAT",
    "DossierCodeFormat",
    "document_id",
    "validate_owner_id",
]

# Citizen identity number (CCCD): 12 digits [Law 26/2023 on identification, Art. 12].
_PERSONAL_ID = re.compile(r"[0-9]{12}")
# Enterprise / household tax code: 10 digits, or 13 with a branch suffix [Circular 105/2020].
_TAX_CODE = re.compile(r"[0-9]{10}(-?[0-9]{3})?")

# The de facto code of national-portal integrations: {agency e-ID}-{YYMMDD}-{NNNN}.
DEFAULT_DOSSIER_CODE_FORMAT = "{agency}-{yymmdd}-{seq:04d}"
_ALLOWED_FIELDS = frozenset({"agency", "yymmdd", "yyyymmdd", "seq"})


def validate_owner_id(value: str, *, field: str = "applicant_id") -> str:
    """Return the owner id (12-digit personal id or 10/13-digit tax code) or refuse it."""
    text = value.strip()
    if _PERSONAL_ID.fullmatch(text) or _TAX_CODE.fullmatch(text):
        return text.replace("-", "")
    raise InvalidInput(
        "invalid_owner_id",
        "Số định danh không hợp lệ: số định danh cá nhân phải gồm đúng 12 chữ số, "
        "mã số thuế gồm 10 hoặc 13 chữ số.",
        field=field,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class DossierCodeFormat:
    """A configurable dossier code template; the sequence resets daily per agency.

    Fields: ``{agency}`` (the agency's e-ID code), ``{yymmdd}`` or ``{yyyymmdd}`` (the day of
    receipt in Vietnam time) and ``{seq}`` (the day's sequence, with any int format spec).
    """

    template: str = DEFAULT_DOSSIER_CODE_FORMAT

    def __post_init__(self) -> None:
        refusal = ValueError(
            f"dossier code format {self.template!r} must use {{agency}}, {{seq}}, a day "
            f"({{yymmdd}} or {{yyyymmdd}}, since the sequence restarts daily) and only the "
            f"fields {sorted(_ALLOWED_FIELDS)}"
        )
        parsed = list(string.Formatter().parse(self.template))
        names = {name for _, name, _, _ in parsed if name is not None}
        nested = any(spec and "{" in spec for _, _, spec, _ in parsed)
        if (nested or not {"seq", "agency"} <= names or not names <= _ALLOWED_FIELDS
                or not names & {"yymmdd", "yyyymmdd"}):
            raise refusal
        # Fail at start-up, not at the first receipt, on a spec that cannot format.
        try:
            self.render(agency_code="X", day=date(2000, 1, 1), seq=1)
        except (KeyError, ValueError, IndexError) as exc:
            raise refusal from exc

    def render(self, *, agency_code: str, day: date, seq: int) -> str:
        return self.template.format(
            agency=agency_code,
            yymmdd=day.strftime("%y%m%d"),
            yyyymmdd=day.strftime("%Y%m%d"),
            seq=seq,
        )


def document_id(*, agency_code: str, type_code: str, sequence: int, version: int) -> str:
    """The digitised document id ``{agency}_{type}_{sequence}_V{version}``.

    [2025 national digitisation guidance]
    """
    return f"{agency_code}_{type_code}_{sequence:06d}_V{version}"
