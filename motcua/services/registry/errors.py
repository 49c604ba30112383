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


class NotFound(RegistryError):
    """No center has this id (404)."""

    def __init__(self, center_id: str) -> None:
        super().__init__(f"unknown center {center_id!r}")
        self.center_id = center_id

    def extra(self) -> dict[str, Any]:
        return {"resource": "center", "id": self.center_id}


class StaleRevision(RegistryError):
    """The change was made against a revision that is no longer the current one (409)."""

    def __init__(self, center_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"center {center_id!r} is at revision {current}, not {expected}: "
            "read it again and apply your change to the current revision"
        )
        self.field = "If-Match"
        self.current = current

    def extra(self) -> dict[str, Any]:
        return {"current_revision": self.current}


class RevisionRequired(RegistryError):
    """Changing an existing center needs the revision it was read at (428)."""

    def __init__(self, center_id: str, current: int) -> None:
        super().__init__(
            f"center {center_id!r} exists (revision {current}): send If-Match with the "
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
