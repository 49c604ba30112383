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


class Localized(QueueError):
    """A refusal a citizen reads: ``key`` names its text in the queue's language catalogs
    (``appointment_error.<key>``), filled from ``params``. The API puts it in the
    citizen's language (``localize``); until then the message is the key itself."""

    field: str | None
    key: str
    params: dict[str, Any]
    text: str | None

    def _localized(self, field: str, key: str, params: dict[str, Any]) -> None:
        self.field = field
        self.key = key
        self.params = params
        self.text = None

    def localize(self, text: str) -> None:
        self.text = text

    @property
    def message(self) -> str:
        return self.text or self.key

    def extra(self) -> dict[str, Any]:
        return {"code": self.key}


class Refused(Localized, Invalid):
    """A booking or check-in that no state could make right: a slot in the past, on a
    holiday or outside office hours (422, naming the field)."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        self._localized(field, key, params)
        QueueError.__init__(self, key)


class Taken(Localized, Conflict):
    """A booking or check-in the current state forbids: a full slot, a code used twice,
    a booking already cancelled (409)."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        self._localized(field, key, params)
        QueueError.__init__(self, key)


class Unknown(Localized, NotFound):
    """A booking code nobody was given, or given at another center (404)."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        self._localized(field, key, params)
        self.kind = "appointment"
        QueueError.__init__(self, key)


class Limited(Localized, TooMany):
    """Too many remote tickets today from one phone or one address (429)."""

    def __init__(self, field: str, key: str, retry_after: int, **params: Any) -> None:
        self._localized(field, key, params)
        self.retry_after = retry_after
        QueueError.__init__(self, key)
