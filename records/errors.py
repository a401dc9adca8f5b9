"""Domain errors: a stable machine code plus the Vietnamese message a clerk reads.

Expected outcomes are values; these are raised only when a request cannot be carried out.
The API maps each class to an HTTP status; the message is shown to the user as it is.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "TooLarge",
    "TransitionRefused",
    "Unauthenticated",
]


class DomainError(Exception):
    """Base of every refusal. ``code`` is stable; ``message`` is Vietnamese."""

    http_status = 400

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The request names something malformed (an id of the wrong shape, a missing reason)."""

    http_status = 422


class NotFound(DomainError):
    """No such object, or one the principal may not see: both answer alike."""

    http_status = 404


class Conflict(DomainError):
    """The request clashes with what exists (a duplicate code, a stale state)."""

    http_status = 409


class TooLarge(DomainError):
    """An upload or request over the configured limit."""

    http_status = 413


class TransitionRefused(DomainError):
    """The workflow does not allow this step in this state, for this role, or now."""

    http_status = 409


class Forbidden(DomainError):
    """The principal may see the object but not do this to it."""

    http_status = 403


class Unauthenticated(DomainError):
    """No valid credentials: missing, wrong or expired."""

    http_status = 401
