"""Assignment names a member of the center's staff directory, not free text.

Notify keeps the directory and publishes each member's change as ``staff.configured``
(no name, no contact) on its stream; intake follows it, a newer revision only, and
refuses an assignee who is not an active member of the dossier's center (422 naming
``assignee``). A center that has loaded no directory yet keeps taking any assignee: the
migration path of ``docs/staff.md``, which existing clerk apps and replays rely on.
"""

from __future__ import annotations

import asyncpg

from motcua.services.intake.errors import InvalidInput
from motcua.services.intake.repository import staff as repo
from motcua.shared.events.catalog import StaffConfigured
from motcua.shared.events.envelope import Envelope
from motcua.shared.logging import get_logger

log = get_logger(__name__)


async def follow_staff(conn: asyncpg.Connection, event: Envelope[StaffConfigured]) -> None:
    """The bus handler of ``staff.configured``; an older revision changes nothing."""
    m = event.data
    if await repo.store_if_newer(conn, event.center_id, m):
        log.info("intake.staff_applied", staff_id=m.staff_id, revision=m.revision)
    else:
        log.info("intake.staff_revision_ignored", staff_id=m.staff_id, revision=m.revision)


async def check_assignee(conn: asyncpg.Connection, center_id: str, assignee: str) -> None:
    """Refuse an assignee who is not an active member of the center's directory."""
    loaded, member = await repo.assignee_state(conn, center_id, assignee)
    if loaded and not member:
        raise InvalidInput(
            f"assignee {assignee!r} is not an active member of the staff directory of {center_id}",
            field="assignee",
        )
