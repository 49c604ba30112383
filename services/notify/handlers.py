"""Bus subscribers of the notify service: parse, apply the use case, write through the outbox."""

from __future__ import annotations

from shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    """Attach this service's event handlers to the runtime's consumer."""
    del runtime
