"""The registry's domain errors; ``app.py`` maps each kind to an HTTP status."""

from __future__ import annotations

from typing import Any

from motcua.shared.errors import DomainError

Location = tuple[str | int, ...]
"""Where in a center document: ``("counters", 2, "line_codes", 0)``."""


def field_name(loc: Location) -> str:
    """``counters[2].line_codes[0]``: a location as people write it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "document"


class RegistryError(DomainError):
    """Base of this service's domain errors."""


Kind = str
"""What the registry holds: ``"center"`` or ``"procedure"``, as messages name it."""


class NotFound(RegistryError):
    """No center (or procedure) has this id (404)."""

    def __init__(self, center_id: str, kind: Kind = "center") -> None:
        super().__init__(f"unknown {kind} {center_id!r}")
        self.center_id = center_id
        self.kind = kind

    def extra(self) -> dict[str, Any]:
        return {"resource": self.kind, "id": self.center_id}


class StaleRevision(RegistryError):
    """The change was made against a revision that is no longer the current one (409)."""

    def __init__(self, center_id: str, expected: int, current: int, kind: Kind = "center") -> None:
        super().__init__(
            f"{kind} {center_id!r} is at revision {current}, not {expected}: "
            "read it again and apply your change to the current revision"
        )
        self.field = "If-Match"
        self.current = current

    def extra(self) -> dict[str, Any]:
        return {"current_revision": self.current}


class RevisionRequired(RegistryError):
    """Changing an existing center (or procedure) needs the revision it was read at (428)."""

    def __init__(self, center_id: str, current: int, kind: Kind = "center") -> None:
        super().__init__(
            f"{kind} {center_id!r} exists (revision {current}): send If-Match with the "
            "revision you read, so that no one else's change is overwritten"
        )
        self.field = "If-Match"


class Invalid(RegistryError):
    """A center document that is well typed but breaks a rule (422); ``loc`` says where."""

    def __init__(self, loc: Location, message: str) -> None:
        self.loc = loc
        self.field = field_name(loc)
        self._message = message
        super().__init__(f"{self.field}: {message}")

    @property
    def message(self) -> str:
        return self._message
