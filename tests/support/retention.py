"""Personal-data retention, as the tests of each service look at it."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from prometheus_client import REGISTRY

from motcua.shared import migrations


def purged(schema: str, what: str) -> float:
    """How many ``what`` rows of ``schema`` this process has purged so far (the metric)."""
    labels = {"schema": schema, "what": what}
    return REGISTRY.get_sample_value("motcua_personal_data_purged_total", labels) or 0.0


async def migrated(db: asyncpg.Connection, schema: str, folder: Path) -> asyncpg.Connection:
    """``db`` with ``schema``'s migrations applied and on its search path."""
    await migrations.apply(db, schema, migrations.plan(folder))
    await db.execute(f'SET search_path TO "{schema}"')
    return db
