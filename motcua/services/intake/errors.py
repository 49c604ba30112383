"""Intake's domain errors: what a request or a bus command can be refused with.

``app.py`` maps each class to its HTTP status once; a bus command's refusal carries the
same message and field (``command_handlers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from motcua.shared.errors import DomainError

if TYPE_CHECKING:
    from motcua.services.intake.domain import Op, StatusInfo


class IntakeError(DomainError):
    """Base of the errors a request or command can be refused with.

    ``field`` names the offending input when there is one, so an API can say which.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(IntakeError):
    """The request is well-formed but breaks a rule (e.g. a refusal without a reason)."""


class UnknownProcedure(InvalidInput):
    """The procedure code is not in the catalog."""


class RetiredProcedure(InvalidInput):
    """The registry retired the procedure: it can no longer be filed (dossiers already
    received keep the procedure as it stood)."""


class NotFound(IntakeError):
    """No such dossier."""


class WrongCenter(IntakeError):
    """The dossier belongs to another center than the caller's."""


class Conflict(IntakeError):
    """The request collides with existing state (a reused id or idempotency key)."""


class Forbidden(IntakeError):
    """The caller may not do this (e.g. backdating without the admin role)."""


class InvalidTransition(Conflict):
    """The operation is not allowed from the dossier's current step."""

    def __init__(self, op: Op, current: StatusInfo, allowed: list[Op]) -> None:
        names = ", ".join(allowed) or "none (the dossier is closed)"
        super().__init__(
            f"cannot {op} a dossier in status {current.code} ({current.key}); allowed: {names}"
        )
        self.op = op
        self.current = current
        self.allowed = allowed

    def extra(self) -> dict[str, Any]:
        """The operation refused, where the dossier stands, and what it allows."""
        s = self.current
        return {
            "operation": self.op.value,
            "status": {
                "code": s.code,
                "key": s.key.value,
                "name_vi": s.name_vi,
                "name_en": s.name_en,
                "clock": s.clock,
            },
            "allowed": [op.value for op in self.allowed],
        }
