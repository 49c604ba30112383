"""Personal data intake keeps, and how long.

* The applicant's name and contact stay while the case is open, then a set time
  (``purge_after_days``) after it closed: resolved, result returned, withdrawn or
  stopped. Then the retention sweep erases them (Law 91/2025 on personal data: kept
  no longer than needed). The dossier, its history and its statistics stay; the
  receipt reprinted after that shows no name.
* The lookup secret is kept as a hash keyed with a pepper the database does not hold
  (``motcua.services.intake.domain``). Rows hashed before the pepper are keyed at start-up,
  a batch per statement: their stored hash is keyed as it stands, no secret needed.
  Until that is done (another replica still starting, say) such a row still matches
  by its old hash.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from motcua.services.intake import domain
from motcua.services.intake.domain import CLOSED_STEPS, StatusList
from motcua.shared.bus.retention import repeat_batches
from motcua.shared.logging import get_logger
from motcua.shared.runtime import ServiceRuntime

log = get_logger(__name__)

# ``updated_at`` is the time of the last change: for a closed dossier, its closing.
_ERASE_APPLICANT = """
    UPDATE dossiers SET applicant_name = NULL, contact_sealed = NULL
    WHERE id = ANY (ARRAY(
        SELECT id FROM dossiers
        WHERE status = ANY ($3::smallint[]) AND updated_at < now() - $1::interval
          AND (applicant_name IS NOT NULL OR contact_sealed IS NOT NULL)
        LIMIT $2))
"""


def register(runtime: ServiceRuntime, statuses: StatusList, pepper: bytes) -> None:
    closed = sorted(statuses.code(step) for step in CLOSED_STEPS)

    async def erase_applicants(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
        return await repeat_batches(conn, _ERASE_APPLICANT, horizon, batch, closed)

    runtime.retention.add_purge("applicant", erase_applicants)
    runtime.on_startup.append(_pepper_old_hashes(pepper))


def _pepper_old_hashes(
    pepper: bytes, batch: int = 1000
) -> Callable[[ServiceRuntime], Awaitable[None]]:
    async def run(runtime: ServiceRuntime) -> None:
        async with runtime.pool.acquire() as conn:
            done = await pepper_old_hashes(conn, pepper, batch)
        if done:
            log.info("intake.lookup_hashes_peppered", dossiers=done)

    return run


async def pepper_old_hashes(conn: asyncpg.Connection, pepper: bytes, batch: int = 1000) -> int:
    """Key every lookup hash stored before the pepper; how many were keyed. Each batch
    is its own statement; the compare-and-set leaves a row another replica keyed."""
    total = 0
    while True:
        rows = await conn.fetch(
            "SELECT id, secret_hash FROM dossiers WHERE octet_length(secret_hash) = 32 LIMIT $1",
            batch,
        )
        if not rows:
            return total
        await conn.executemany(
            "UPDATE dossiers SET secret_hash = $2 WHERE id = $1 AND secret_hash = $3",
            [
                (r["id"], domain.pepper_hash(r["secret_hash"], pepper), r["secret_hash"])
                for r in rows
            ],
        )
        total += len(rows)
        if len(rows) < batch:
            return total
