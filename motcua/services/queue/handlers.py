"""Bus subscribers of the queue service.

Clerks and kiosks reach the queue over HTTP, and it publishes through its outbox. It
consumes one stream: ``center.configured`` from the center registry, so that a new
center, or a center's changed lines, counters or name, takes effect without a restart
(``motcua.shared.centers.follow``; the service's directory follows the book).
"""

from __future__ import annotations

from motcua.shared.centers import CenterBook, follow
from motcua.shared.events.topics import REGISTRY
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, centers: CenterBook) -> None:
    """Attach this service's event handlers to the runtime's consumer."""
    follow(runtime, centers)
    runtime.consume(REGISTRY, description="Follows the center registry's configuration")
