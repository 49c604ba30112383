"""Bus subscribers of the registry service.

The registry consumes no events: admins reach it over HTTP and the province's files at
start, and it only publishes ``center.configured`` (through its outbox). The hook stays
so the service keeps the common shape.
"""

from __future__ import annotations

from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    """Attach this service's event handlers to the runtime's consumer (none)."""
    del runtime
