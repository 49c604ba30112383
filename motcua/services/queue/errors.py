"""The queue's domain errors: a small hierarchy ``app.py`` maps to status codes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from motcua.shared.errors import DomainError


class QueueError(DomainError):
    """Base of every error the queue's rules raise."""


class NotFound(QueueError):
    """An unknown center, line, counter or ticket (404); names which one."""

    def __init__(self, kind: str, key: str, center_id: str | None = None) -> None:
        self.kind = kind
        self.key = key
        where = f" in center {center_id!r}" if center_id else ""
        super().__init__(f"unknown {kind} {key!r}{where}")

    def extra(self) -> dict[str, Any]:
        return {"resource": self.kind, "id": self.key}


class Conflict(QueueError):
    """The request is well formed but the current state forbids it (409)."""


class InvalidTransition(Conflict):
    """The ticket's status does not allow this action; names the statuses that would."""

    def __init__(self, action: str, number: str, status: str, allowed: Iterable[str]) -> None:
        self.action = action
        self.status = status
        self.allowed = sorted(allowed)
        super().__init__(
            f"cannot {action} ticket {number}: it is {status}; "
            f"allowed only when {' or '.join(self.allowed)}"
        )


class Invalid(QueueError):
    """The request breaks a rule whatever the state, e.g. a transfer to the same line (422)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class TooMany(QueueError):
    """Too many tickets with a contact from one client, or to one recipient (429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
