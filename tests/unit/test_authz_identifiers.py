"""Owner ids, dossier codes, document ids, and who may create, see, edit and verify."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from records.authz import Action, NewDossier, Principal, authorize, can_see, dossier_not_found
from records.errors import Forbidden, InvalidInput, NotFound
from records.identifiers import (
    DEFAULT_DOSSIER_CODE_FORMAT,
    DossierCodeFormat,
    document_id,
    validate_owner_id,
)
from records.model import Dossier, DossierStatus, Role

pytestmark = pytest.mark.unit

S = DossierStatus
AGENCY = "000.00.15.H40"
BRANCH = "000.00.15.H40-MC01"
APPLICANT = "001203004567"
AT = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)


def person(role: Role, *, username: str | None = None, agency: str = AGENCY,
           branch: str = BRANCH, owner: str = APPLICANT) -> Principal:
    return Principal(
        username=username or f"{role}1",
        roles=frozenset({role}),
        agency_code=agency if role in (Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN,
                                       Role.AGENCY) else None,
        branch_code=branch if role is Role.CLERK else None,
        owner_id=owner if role is Role.CITIZEN else None,
    )


def dossier(**overrides: Any) -> Dossier:
    fields: dict[str, Any] = {
        "id": 7, "code": f"{AGENCY}-261119-0007", "procedure_code": "1.001234",
        "agency_code": AGENCY, "branch_code": BRANCH, "applicant_id": APPLICANT,
        "status": S.RECEIVED, "created_at": AT, "created_by": "clerk1",
    }
    fields.update(overrides)
    return Dossier(**fields)


NEW = NewDossier(agency_code=AGENCY, branch_code=BRANCH, applicant_id=APPLICANT)

# --- owner ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "stored"), [
    ("001203004567", "001203004567"),  # personal id (CCCD), 12 digits
    (" 079088001234 ", "079088001234"),
    ("0101234567", "0101234567"),  # tax code, 10 digits
    ("0101234567-001", "0101234567001"),  # branch tax code, with the dash
    ("0101234567001", "0101234567001"),  # and without
])
def test_valid_owner_ids_are_accepted(raw: str, stored: str) -> None:
    assert validate_owner_id(raw) == stored


@pytest.mark.parametrize("raw", [
    "01012345678",  # 11 digits
    "00120300456",  # 11 digits
    "00120300456789",  # 14 digits
    "0012030045AB",  # letters
    "CCCD001203004567",
    "",
    "   ",
    "0101234567-01",  # branch suffix too short
    "0101234567--001",
    "001 203 004 567",
    "００１２０３００４５６７",  # full-width digits
    "٠٠١٢٠٣٠٠٤٥٦٧",  # Arabic-Indic digits
])
def test_invalid_owner_ids_are_refused_in_vietnamese(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_owner_id(raw)
    assert (caught.value.code, caught.value.field) == ("invalid_owner_id", "applicant_id")
    assert "12 chữ số" in caught.value.message
    assert "mã số thuế" in caught.value.message


# --- dossier codes and document ids -------------------------------------------------------


def test_the_default_dossier_code() -> None:
    fmt = DossierCodeFormat()
    assert fmt.template == DEFAULT_DOSSIER_CODE_FORMAT == "{agency}-{yymmdd}-{seq:04d}"
    assert fmt.render(agency_code=AGENCY, day=date(2026, 11, 21), seq=7) == \
        "000.00.15.H40-261121-0007"
    assert fmt.render(agency_code=AGENCY, day=date(2026, 1, 2), seq=12345) == \
        "000.00.15.H40-260102-12345"


def test_a_configured_dossier_code() -> None:
    fmt = DossierCodeFormat(template="{agency}.{yyyymmdd}.{seq:06d}")
    assert fmt.render(agency_code="H40", day=date(2026, 11, 21), seq=7) == \
        "H40.20261121.000007"


@pytest.mark.parametrize("template", [
    "{agency}-{yymmdd}",  # no sequence
    "{yymmdd}-{seq:04d}",  # no agency
    "{agency}-{yymmdd}-{seq:04d}-{branch}",  # unknown field
    "{agency}-{}-{seq:04d}",  # positional field
    "{agency.code}-{yymmdd}-{seq:04d}",  # attribute access
    # The sequence resets daily per agency: without the day the code is not unique.
    "{agency}-{seq:04d}",
    # Fields hidden in a format spec, or a spec an int cannot take, fail only at rendering.
    "{agency}-{yymmdd}-{seq:{width}}",
    "{agency}-{yymmdd}-{seq:s}",
])
def test_a_dossier_code_template_that_cannot_give_unique_codes_is_refused(
    template: str,
) -> None:
    with pytest.raises(ValueError, match="dossier code format"):
        DossierCodeFormat(template=template)


def test_document_id() -> None:
    assert document_id(agency_code=AGENCY, type_code="GKS", sequence=42, version=2) == \
        "000.00.15.H40_GKS_000042_V2"


# --- creating a dossier -------------------------------------------------------------------


@pytest.mark.parametrize("who", [
    person(Role.CLERK),
    person(Role.CITIZEN),
    person(Role.ADMIN),
], ids=["clerk-at-own-branch", "citizen-for-self", "admin"])
def test_create_allowed(who: Principal) -> None:
    authorize(who, Action.CREATE, NEW)


@pytest.mark.parametrize("who", [
    person(Role.CLERK, branch="000.00.16.H40-MC02"),
    person(Role.CITIZEN, owner="079088001234"),
    person(Role.HANDLER),
    person(Role.SIGNER),
    person(Role.SEAL_CUSTODIAN),
    person(Role.AGENCY),
    Principal(username="nobody"),
], ids=["clerk-elsewhere", "citizen-for-another", "handler", "signer", "seal", "agency",
        "no-role"])
def test_create_refused(who: Principal) -> None:
    with pytest.raises(Forbidden) as caught:
        authorize(who, Action.CREATE, NEW)
    assert caught.value.code == "forbidden"


def test_a_new_dossier_is_only_a_resource_for_create() -> None:
    with pytest.raises(Forbidden):
        authorize(person(Role.CLERK), Action.VIEW, NEW)


# --- administration and audit -------------------------------------------------------------


@pytest.mark.parametrize("action", [Action.VERIFY_AUDIT, Action.ADMINISTER])
@pytest.mark.parametrize("role", list(Role))
def test_audit_verification_and_administration_are_for_admins_only(
    action: Action, role: Role
) -> None:
    if role is Role.ADMIN:
        authorize(person(role), action)
        return
    with pytest.raises(Forbidden) as caught:
        authorize(person(role), action)
    assert caught.value.code == "forbidden"


# --- seeing and editing a dossier ---------------------------------------------------------


@pytest.mark.parametrize(("who", "sees"), [
    (person(Role.CLERK), True),
    (person(Role.CLERK, branch="000.00.16.H40-MC02"), False),
    (person(Role.HANDLER), True),
    (person(Role.HANDLER, agency="000.00.16.H40"), False),
    (person(Role.SEAL_CUSTODIAN), True),
    (person(Role.CITIZEN), True),
    (person(Role.CITIZEN, owner="079088001234"), False),
    (person(Role.AGENCY), False),
    (person(Role.ADMIN), True),
    (Principal(username="multi", roles=frozenset({Role.CLERK, Role.CITIZEN}),
               branch_code="000.00.16.H40-MC02", owner_id=APPLICANT), True),
])
def test_view(who: Principal, sees: bool) -> None:
    d = dossier()
    assert can_see(who, d) is sees
    if sees:
        authorize(who, Action.VIEW, d)
        return
    missing = dossier_not_found()
    with pytest.raises(NotFound) as caught:
        authorize(who, Action.VIEW, d)
    assert (caught.value.code, caught.value.message) == (missing.code, missing.message)


CLERK_EDITS = {S.SUBMITTED, S.RECEIVED, S.INCOMPLETE_AT_INTAKE, S.DIGITISED,
               S.SUPPLEMENT_REQUESTED}
CITIZEN_EDITS = {S.SUBMITTED, S.INCOMPLETE_AT_INTAKE, S.SUPPLEMENT_REQUESTED}
HANDLER_EDITS_RESULT = {S.IN_REVIEW, S.PENDING_APPROVAL}


@pytest.mark.parametrize(("role", "action", "allowed_in"), [
    (Role.CLERK, Action.EDIT_DOCUMENTS, CLERK_EDITS),
    (Role.CITIZEN, Action.EDIT_DOCUMENTS, CITIZEN_EDITS),
    (Role.HANDLER, Action.EDIT_DOCUMENTS, set()),
    (Role.HANDLER, Action.EDIT_RESULT, HANDLER_EDITS_RESULT),
    (Role.SIGNER, Action.EDIT_RESULT, set()),
    (Role.CLERK, Action.EDIT_RESULT, set()),
    # Administrators import paper batches: they add papers to what they received.
    (Role.ADMIN, Action.EDIT_DOCUMENTS, {S.RECEIVED}),
])
@pytest.mark.parametrize("status", list(S))
def test_editing_per_state(role: Role, action: Action, allowed_in: set[DossierStatus],
                           status: DossierStatus) -> None:
    d = dossier(status=status, handler="handler1")
    if status in allowed_in:
        authorize(person(role), action, d)
        return
    with pytest.raises(Forbidden) as caught:
        authorize(person(role), action, d)
    assert caught.value.code == "forbidden"


def test_editing_a_dossier_one_cannot_see_is_not_found() -> None:
    with pytest.raises(NotFound):
        authorize(person(Role.CLERK, branch="000.00.16.H40-MC02"), Action.EDIT_DOCUMENTS,
                  dossier())


def test_a_transition_must_name_its_spec() -> None:
    with pytest.raises(Forbidden):
        authorize(person(Role.CLERK), Action.TRANSITION, dossier())
    with pytest.raises(Forbidden):
        authorize(person(Role.ADMIN), Action.VIEW)


def test_only_the_assigned_handler_edits_the_draft_result() -> None:
    assigned = dossier(status=S.IN_REVIEW, handler="handler1")
    authorize(person(Role.HANDLER, username="handler1"), Action.EDIT_RESULT, assigned)
    with pytest.raises(Forbidden):
        authorize(person(Role.HANDLER, username="handler2"), Action.EDIT_RESULT, assigned)
    # Before anyone is assigned, any handler of the agency may draft.
    authorize(person(Role.HANDLER, username="handler2"), Action.EDIT_RESULT,
              dossier(status=S.IN_REVIEW))
