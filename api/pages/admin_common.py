"""What the administration pages (/quan-tri) share: the administrators-only dependency, the
use cases' dependencies, and a refused form's messages and status."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form
from fastapi import Path as PathParam

from api.bootstrap import Services
from api.pages.web import FormErrors, PageUser, form_errors_of
from records.admin import AdminDeps, InvalidFields
from records.authz import Action, Principal, authorize
from records.errors import DomainError

__all__ = ["Admin", "Code", "Text", "admin_deps", "field_errors", "refusal_status"]


def _admin(who: PageUser) -> Principal:
    authorize(who, Action.ADMINISTER)
    return who


Admin = Annotated[Principal, Depends(_admin)]
"""Every administration route takes its user as ``Admin``: anyone else gets the 403 page."""

Text = Annotated[str, Form(max_length=500)]
Code = Annotated[str, PathParam(max_length=80)]


def admin_deps(services: Services) -> AdminDeps:
    accounts = services.accounts
    return AdminDeps(store=accounts.store, clock=accounts.clock, hasher=accounts.hasher,
                     audit_key=accounts.audit_key)


def field_errors(exc: DomainError, default_field: str = "_form") -> FormErrors:
    """A refusal's messages, each next to its field."""
    if isinstance(exc, InvalidFields):
        return dict(exc.fields)
    return form_errors_of(exc, default_field)


def refusal_status(exc: DomainError) -> int:
    return exc.http_status if exc.http_status in (409, 422) else 422
