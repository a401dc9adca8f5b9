"""Authorisation: one ``authorize`` for every use case.

A dossier the principal may not see is refused exactly as a missing one (``NotFound`` with
the same code and message), so that probing ids reveals nothing. A dossier the principal may
see but not act on is ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from records.errors import Forbidden, NotFound
from records.model import Dossier, Role
from records.workflow import STATES, LocalRole, Permission, TransitionSpec

__all__ = [
    "Action",
    "NewDossier",
    "Principal",
    "Scope",
    "authorize",
    "can_see",
    "dossier_not_found",
    "reach_of",
]


class Action(StrEnum):
    VIEW = "dossier.view"
    CREATE = "dossier.create"
    TRANSITION = "dossier.transition"
    EDIT_DOCUMENTS = "dossier.edit_documents"
    EDIT_RESULT = "dossier.edit_result"
    VERIFY_AUDIT = "audit.verify"
    ADMINISTER = "admin"
    VIEW_STATISTICS = "statistics.view"  # managers: the centre's leaders and administrators


@dataclass(frozen=True, kw_only=True, slots=True)
class Principal:
    """Who is asking: a staff member, a citizen or an agency client."""

    username: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    display_name: str = ""
    agency_code: str | None = None  # handlers, signers, custodians work for an agency
    branch_code: str | None = None  # clerks work at a desk
    owner_id: str | None = None  # a citizen's personal id

    def has(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True, kw_only=True, slots=True)
class NewDossier:
    """The resource of ``Action.CREATE``: where and for whom a dossier would be opened."""

    agency_code: str
    branch_code: str
    applicant_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """What a principal may see, as sets: a record matching ANY of them is visible."""

    branch_codes: frozenset[str] = frozenset()
    agency_codes: frozenset[str] = frozenset()
    owner_ids: frozenset[str] = frozenset()


def reach_of(who: Principal) -> Scope | None:
    """The sets ``can_see`` allows, for listing and searching in the database or the index
    (None: everything, for administrators). Mirrors ``_role_sees`` role by role."""
    if who.has(Role.ADMIN):
        return None
    staff = {Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN}
    return Scope(
        branch_codes=frozenset({who.branch_code}) if who.has(Role.CLERK) and who.branch_code
        else frozenset(),
        agency_codes=frozenset({who.agency_code}) if who.agency_code and staff & who.roles
        else frozenset(),
        owner_ids=frozenset({who.owner_id}) if who.has(Role.CITIZEN) and who.owner_id
        else frozenset())


def dossier_not_found() -> NotFound:
    return NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")


def _role_sees(role: Role, who: Principal, dossier: Dossier | NewDossier) -> bool:
    if role is Role.ADMIN:
        return True
    if role is Role.CLERK:
        return who.branch_code is not None and dossier.branch_code == who.branch_code
    if role in (Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN):
        return who.agency_code is not None and dossier.agency_code == who.agency_code
    if role is Role.CITIZEN:
        return who.owner_id is not None and dossier.applicant_id == who.owner_id
    return False  # agencies reach documents through the reuse API, never dossiers


def can_see(who: Principal, dossier: Dossier) -> bool:
    return any(_role_sees(role, who, dossier) for role in who.roles)


def _holds_local_role(who: Principal, dossier: Dossier, local: LocalRole | None) -> bool:
    if local is None:
        return True
    holder = dossier.handler if local is LocalRole.HANDLER else dossier.signer
    # Until someone is assigned, any holder of the global role in the agency may act.
    return holder is None or holder == who.username


def _may_transition(who: Principal, dossier: Dossier, spec: TransitionSpec) -> bool:
    return any(
        role in spec.roles
        and _role_sees(role, who, dossier)
        and (role not in (Role.HANDLER, Role.SIGNER)
             or _holds_local_role(who, dossier, spec.local_role))
        for role in who.roles
    )


def authorize(
    who: Principal,
    action: Action,
    resource: Dossier | NewDossier | None = None,
    *,
    transition: TransitionSpec | None = None,
) -> None:
    """Return if ``who`` may do ``action`` to ``resource``; raise otherwise."""
    refused = Forbidden("forbidden", "Bạn không có quyền thực hiện thao tác này.")
    if action in (Action.VERIFY_AUDIT, Action.ADMINISTER):
        if not who.has(Role.ADMIN):
            raise refused
        return
    if action is Action.VIEW_STATISTICS:
        if not (who.has(Role.ADMIN) or who.has(Role.SIGNER)):
            raise refused
        return
    if isinstance(resource, NewDossier):
        if action is not Action.CREATE:
            raise refused
        if not any(
            role in (Role.CLERK, Role.CITIZEN, Role.ADMIN) and _role_sees(role, who, resource)
            for role in who.roles
        ):
            raise refused
        return
    if resource is None:
        raise refused
    if not can_see(who, resource):
        raise dossier_not_found()
    if action is Action.VIEW:
        return
    if action is Action.TRANSITION:
        if transition is None or not _may_transition(who, resource, transition):
            raise refused
        return
    permission = (
        Permission.EDIT_DOCUMENTS if action is Action.EDIT_DOCUMENTS else Permission.EDIT_RESULT
    )
    allowed = STATES[resource.status].roles_for(permission)
    if not any(role in allowed and _role_sees(role, who, resource)
               and (role is not Role.HANDLER
                    or _holds_local_role(who, resource, LocalRole.HANDLER))
               for role in who.roles):
        raise refused
