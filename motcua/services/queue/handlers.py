"""Bus subscribers of the queue service.

The queue consumes no events: clerks and kiosks reach it over HTTP, and it only
publishes (through its outbox). The hook stays so the service keeps the common shape.
"""

from __future__ import annotations

from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    """Attach this service's event handlers to the runtime's consumer (none today)."""
    del runtime
