"""The migrations runner: ordered, once, per schema, with changed files refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from motcua.shared import migrations
from motcua.shared.migrations import Migration, MigrationError


def write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(sql, encoding="utf-8")


async def test_applies_in_order_once_into_its_own_schema(
    tmp_path: Path, db: asyncpg.Connection
) -> None:
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id int);")
    write(tmp_path, "0002_b.sql", "INSERT INTO a VALUES (1);")
    write(tmp_path, "README.txt", "not a migration")
    plan = migrations.plan(tmp_path)
    plumbing = [
        "plumbing/0001_outbox_inbox",
        "plumbing/0002_inbox_processed_at",
        "plumbing/0003_outbox_journal",
        "plumbing/0004_registry_centers",
        "plumbing/0005_registry_procedures",
    ]
    assert [m.version for m in plan] == [*plumbing, "0001_a", "0002_b"]
    first = await migrations.apply(db, "svc", plan)
    assert first == [*plumbing, "0001_a", "0002_b"]
    assert await migrations.apply(db, "svc", plan) == []
    assert await db.fetchval("SELECT count(*) FROM svc.a") == 1
    assert await db.fetchval("SELECT to_regclass('svc.outbox') IS NOT NULL")
    assert await db.fetchval("SELECT to_regclass('public.a') IS NULL")


async def test_a_changed_applied_migration_is_an_error(
    tmp_path: Path, db: asyncpg.Connection
) -> None:
    await migrations.apply(db, "svc", [Migration("0001_a", "CREATE TABLE a (id int);")])
    with pytest.raises(MigrationError, match="0001_a has changed"):
        await migrations.apply(db, "svc", [Migration("0001_a", "CREATE TABLE a (id bigint);")])


async def test_a_failing_migration_leaves_nothing_half_applied(db: asyncpg.Connection) -> None:
    plan = [
        Migration("0001_a", "CREATE TABLE a (id int);"),
        Migration("0002_bad", "CREATE TABLE a (x int);"),
    ]
    with pytest.raises(asyncpg.DuplicateTableError):
        await migrations.apply(db, "svc", plan)
    versions = await db.fetch("SELECT version FROM svc.schema_migrations")
    assert [r["version"] for r in versions] == ["0001_a"]


async def test_concurrent_runners_apply_each_file_once(database_url: str) -> None:
    plan = [Migration(f"{i:04d}_t", f"CREATE TABLE t{i} (id int);") for i in range(1, 6)]
    conns = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrations.apply(c, "svc", plan) for c in conns))
    finally:
        for c in conns:
            await c.close()
    applied = sorted(v for r in results for v in r)
    assert applied == [m.version for m in plan]


async def test_bad_schema_name_is_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(MigrationError, match="schema"):
        await migrations.apply(db, 'x"; DROP TABLE y; --', [])
