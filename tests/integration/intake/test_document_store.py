"""The document store's contract, held by both backends: PostgreSQL chunk rows and S3
(a real MinIO: ``motcua.devtools.minio``). Every refusal leaves nothing stored."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from motcua.devtools.minio import NoS3, s3_server
from motcua.services.intake.documents import Limits, Refused, TooLarge, Unsupported
from motcua.services.intake.storage import (
    CHUNK_BYTES,
    DocumentStore,
    StorageUnavailable,
    Truncated,
)
from motcua.services.intake.storage.postgres import PostgresBackend
from motcua.services.intake.storage.s3 import S3Backend, S3Client, S3Config

MiB = 1024 * 1024
LIMITS = Limits(max_file_bytes=8 * MiB, max_dossier_bytes=64 * MiB)
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def png(size: int) -> bytes:
    return PNG_HEAD + os.urandom(size - len(PNG_HEAD))


async def pieces(data: bytes, step: int = 65_536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), step):
        yield data[i : i + step]


async def never_read() -> AsyncIterator[bytes]:
    raise AssertionError("the body was read")
    yield b""  # pragma: no cover


@pytest.fixture(scope="module")
def minio() -> Iterator[S3Config]:
    try:
        with s3_server() as server:
            yield S3Config(
                endpoint=server.endpoint,
                bucket="motcua-test-documents",
                access_key=server.access_key,
                secret_key=server.secret_key,
                prefix=f"t{os.getpid()}/",
            )
    except NoS3 as exc:
        pytest.skip(str(exc))


@pytest.fixture
async def pool(intake_database: str, pg: asyncpg.Connection) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(
        intake_database, min_size=1, max_size=4, server_settings={"search_path": "intake"}
    )
    assert p is not None
    yield p
    await p.close()


class Fixture:
    def __init__(self, store: DocumentStore, pg: asyncpg.Connection, s3: S3Client | None):
        self.store = store
        self.pg = pg
        self.s3 = s3

    async def footprint(self) -> tuple[int, int]:
        """Blobs recorded, and pieces the backend holds (chunk rows or objects)."""
        blobs = await self.pg.fetchval("SELECT count(*) FROM document_blobs")
        if self.s3 is None:
            return blobs, await self.pg.fetchval("SELECT count(*) FROM document_chunks")
        return blobs, len(await self.s3.keys())


@pytest.fixture(params=["postgres", "s3"])
async def fx(
    request: pytest.FixtureRequest, pool: asyncpg.Pool, pg: asyncpg.Connection
) -> AsyncIterator[Fixture]:
    if request.param == "postgres":
        yield Fixture(DocumentStore(PostgresBackend(lambda: pool), lambda: pool), pg, None)
        return
    config: S3Config = request.getfixturevalue("minio")
    client = S3Client(config)
    await client.ensure_bucket()
    yield Fixture(DocumentStore(S3Backend(client), lambda: pool), pg, client)
    await client.aclose()


async def put(fx: Fixture, data: bytes, media_type: str = "image/png", size: int | None = None):  # type: ignore[no-untyped-def]
    return await fx.store.put(
        pieces(data), size=len(data) if size is None else size, declared_type=media_type,
        limits=LIMITS,
    )  # fmt: skip


async def read_back(fx: Fixture, sha256: bytes) -> bytes:
    opened = await fx.store.open(sha256)
    assert opened is not None
    out = bytearray()
    async for chunk in opened[2]:
        assert len(chunk) <= CHUNK_BYTES * 2
        out += chunk
    return bytes(out)


async def test_a_file_comes_back_whole_under_its_hash(fx: Fixture) -> None:
    data = png(3 * CHUNK_BYTES + 123)  # several chunks, the last one short
    stored = await put(fx, data)
    assert stored.sha256 == hashlib.sha256(data).digest()
    assert (stored.size, stored.media_type, stored.new) == (len(data), "image/png", True)
    assert await read_back(fx, stored.sha256) == data


async def test_the_same_file_twice_is_stored_once(fx: Fixture) -> None:
    data = png(CHUNK_BYTES + 5)
    assert (await put(fx, data)).new
    before = await fx.footprint()
    again = await put(fx, data)
    assert not again.new
    assert await fx.footprint() == before
    assert await read_back(fx, again.sha256) == data


async def test_a_truncated_upload_stores_nothing(fx: Fixture) -> None:
    before = await fx.footprint()
    data = png(2 * CHUNK_BYTES)
    with pytest.raises(Truncated) as refused:
        await put(fx, data, size=len(data) + 1000)  # the client went away early
    assert refused.value.field == "body"
    assert await fx.footprint() == before
    assert await fx.store.open(hashlib.sha256(data).digest()) is None


async def test_a_body_longer_than_declared_is_cut_off(fx: Fixture) -> None:
    before = await fx.footprint()
    data = png(CHUNK_BYTES)
    with pytest.raises(Refused, match="longer than its Content-Length"):
        await put(fx, data, size=len(data) - 10)
    assert await fx.footprint() == before


async def test_a_pdf_that_is_an_executable_is_refused(fx: Fixture) -> None:
    before = await fx.footprint()
    with pytest.raises(Unsupported) as refused:
        await put(fx, b"MZ\x90\x00" + os.urandom(5000), media_type="application/pdf")
    assert refused.value.field == "body"
    with pytest.raises(Unsupported) as refused:
        await put(fx, b"MZ\x90\x00" + os.urandom(5000), media_type="application/x-msdownload")
    assert refused.value.field == "Content-Type"
    assert await fx.footprint() == before


async def test_zero_bytes_and_two_gigabytes_are_refused_before_reading(fx: Fixture) -> None:
    before = await fx.footprint()
    with pytest.raises(Refused, match="empty"):
        await fx.store.put(never_read(), size=0, declared_type="image/png", limits=LIMITS)
    with pytest.raises(TooLarge) as refused:
        await fx.store.put(never_read(), size=2 * 1024 * MiB, declared_type="image/png",
                           limits=LIMITS)  # fmt: skip
    assert refused.value.field == "Content-Length"
    assert await fx.footprint() == before


async def test_an_upload_killed_mid_way_is_swept_from_the_object_store(fx: Fixture) -> None:
    if fx.s3 is None:
        pytest.skip("the PostgreSQL backend writes in the transaction: a kill rolls it back")
    # What kill -9 between the object's PUT and the blob's row leaves: an object no blob
    # records, and the in-flight row written before the first byte went out.
    old, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    for location, hours in ((old, 2), (fresh, 0)):
        data = png(1000)
        await fx.s3.put(fx.s3.config.prefix + location, pieces(data), len(data))
        await fx.pg.execute(
            "INSERT INTO document_uploads (location, started_at) "
            "VALUES ($1, now() - make_interval(hours => $2))",
            location,
            hours,
        )
    async with fx.pg.transaction():
        assert await fx.store.sweep_abandoned(fx.pg, 100) == 1
    keys = set(await fx.s3.keys())
    assert fx.s3.config.prefix + old not in keys
    assert fx.s3.config.prefix + fresh in keys  # may still be on its way: kept an hour
    left = await fx.pg.fetch("SELECT location FROM document_uploads")
    assert [r["location"] for r in left] == [fresh]
    await fx.s3.delete(fx.s3.config.prefix + fresh)
    await fx.pg.execute("DELETE FROM document_uploads")


async def test_no_upload_is_left_in_flight(fx: Fixture) -> None:
    await put(fx, png(CHUNK_BYTES))
    with pytest.raises(Truncated):
        await put(fx, png(1000), size=2000)
    with pytest.raises(Unsupported):
        await put(fx, b"MZ" + os.urandom(100), media_type="application/pdf")
    assert not await fx.pg.fetchval("SELECT count(*) FROM document_uploads")


async def test_an_object_store_that_is_away_is_a_503_and_leaves_a_row_to_sweep(
    pool: asyncpg.Pool, pg: asyncpg.Connection
) -> None:
    away = S3Client(S3Config("http://127.0.0.1:9", "bucket", "key", "secret", prefix="away/"))
    store = DocumentStore(S3Backend(away), lambda: pool)
    blobs = await pg.fetchval("SELECT count(*) FROM document_blobs")
    with pytest.raises(StorageUnavailable) as refused:
        await put(Fixture(store, pg, away), png(1000))
    assert refused.value.retry_after
    assert await pg.fetchval("SELECT count(*) FROM document_blobs") == blobs
    # Whether any byte reached the store is unknown: the sweep will delete the object.
    assert await pg.fetchval("SELECT count(*) FROM document_uploads") == 1
    await pg.execute("DELETE FROM document_uploads")
    await away.aclose()


async def test_a_blob_in_another_backend_is_named_not_guessed(fx: Fixture) -> None:
    stored = await put(fx, png(2000))
    other = "s3" if fx.s3 is None else "postgres"
    await fx.pg.execute(
        "UPDATE document_blobs SET backend = $2 WHERE sha256 = $1", stored.sha256, other
    )
    with pytest.raises(StorageUnavailable, match=f"in the {other} backend"):
        await fx.store.open(stored.sha256)
