"""Apply a service's ordered SQL migrations into that service's own schema.

Runs under a PostgreSQL advisory lock, so concurrent starters (several replicas,
an init container) apply each file exactly once. Each applied file's SHA-256 is
recorded; editing an applied migration is an error, not a silent divergence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from motcua.shared.logging import get_logger

log = get_logger(__name__)

PLUMBING_DIR = Path(__file__).parent / "bus" / "migrations"
_LOCK_KEY = 0x6D6F74637561  # "motcua"


class MigrationError(RuntimeError):
    """A migration cannot be applied, or an applied one has changed."""


@dataclass(frozen=True)
class Migration:
    version: str  # e.g. "plumbing/0001_outbox_inbox" or "0002_counters"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path, namespace: str = "") -> list[Migration]:
    files = sorted(p for p in directory.glob("*.sql") if p.name[:4].isdigit())
    return [Migration(f"{namespace}{p.stem}", p.read_text(encoding="utf-8")) for p in files]


def plan(service_dir: Path) -> list[Migration]:
    """Plumbing tables first, then the service's own files in order."""
    return discover(PLUMBING_DIR, "plumbing/") + discover(service_dir)


async def apply(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing; return the versions applied now."""
    if not schema.isidentifier():
        raise MigrationError(f"bad schema name {schema!r}")
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
                    version    text PRIMARY KEY,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch(f'SELECT version, checksum FROM "{schema}".schema_migrations')
        done = {r["version"]: r["checksum"] for r in rows}
        for m in migrations:
            if m.version in done:
                if done[m.version] != m.checksum:
                    raise MigrationError(
                        f"{schema}: applied migration {m.version} has changed on disk "
                        "(add a new migration instead of editing an applied one)"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                await conn.execute(m.sql)
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (version, checksum) VALUES ($1, $2)',
                    m.version,
                    m.checksum,
                )
            applied_now.append(m.version)
            log.info("migration.applied", schema=schema, version=m.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now
