"""The notify service's domain errors; ``app.py`` maps them to status codes."""

from __future__ import annotations

from motcua.shared.errors import DomainError


class NotifyError(DomainError):
    """Base of every error the notify service's rules raise."""


class NotFound(NotifyError):
    """Something the request names does not exist here (404)."""


class Conflict(NotifyError):
    """The request is valid but the current state forbids it (409)."""


class Invalid(NotifyError):
    """A field's value breaks a rule (422); names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)
