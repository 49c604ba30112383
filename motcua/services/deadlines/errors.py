"""The deadlines service's domain errors; ``app.py`` maps each kind to an HTTP status."""

from __future__ import annotations

from motcua.shared.errors import DomainError


class DeadlinesError(DomainError):
    """Base of this service's domain errors."""


class NotFound(DeadlinesError):
    """The dossier (or letter) is not known to this service."""


class Conflict(DeadlinesError):
    """The request contradicts the clock's state, e.g. extending a closed clock."""


class InvalidInput(DeadlinesError):
    """A value that passed type checks but breaks a rule; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self._message = message

    @property
    def message(self) -> str:
        """The rule broken, without the field's name (the answer names it apart)."""
        return self._message
