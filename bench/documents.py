"""Benchmark: documents in and out of intake's store, on both backends, beside a raw
baseline of the same backend; the service's peak memory; every byte stored once.

For each backend (PostgreSQL chunk rows; S3 on a MinIO started for the run, see
``motcua.devtools.minio``) the intake service runs as its own process. ``CLIENTS``
concurrent clerks upload ``FILES`` distinct PDF files of ``FILE_MB`` MB to their
dossiers, then ``CLIENTS`` of them again (the same bytes: they must not be stored twice),
then download every file and check its hash. The process's RSS is sampled all along
(psutil) and set against the 200 MiB goal. Afterwards the store is counted: one blob
per distinct file, and exactly the uploaded bytes in chunk rows or objects.

The raw baseline moves the same bytes with nothing of the service around them: asyncpg
inserting and selecting the same 256 KiB chunk rows over ``CLIENTS`` connections, or the
same signed PUT and GET against the same MinIO.

``MOTCUA_BENCH_DOCUMENT_FILES`` and ``MOTCUA_BENCH_DOCUMENT_MB`` shrink a run (a check
that it works), ``MOTCUA_BENCH_DOCUMENT_BACKENDS=s3`` runs one backend; ``make bench``
runs the full size on both.

Standalone::

    python -c "import asyncio, os
    from motcua.devtools.backends import servers
    from bench import documents
    with servers(os.environ, durable=True) as s: print(asyncio.run(documents.run(s)))"
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import asyncpg
import psutil

from bench.http_load import HttpLoad, closed_loop, expect
from bench.launch import AUTH_SECRET, kafka_of, running, service_env
from motcua.devtools.backends import fresh_database
from motcua.devtools.minio import NoS3, S3Server, s3_server
from motcua.services.intake.storage import CHUNK_BYTES
from motcua.services.intake.storage.s3 import S3Client, S3Config
from motcua.shared.auth import issue_token
from motcua.shared.bus.kafka import ensure_topics

if TYPE_CHECKING:
    from motcua.devtools.backends import Servers

FILES = int(os.environ.get("MOTCUA_BENCH_DOCUMENT_FILES", "200"))  # a multiple of CLIENTS
FILE_MB = float(os.environ.get("MOTCUA_BENCH_DOCUMENT_MB", "5"))
BACKENDS = os.environ.get("MOTCUA_BENCH_DOCUMENT_BACKENDS", "postgres,s3").split(",")
CLIENTS = 20
RSS_GOAL_MIB = 200
CENTER = "nam-cuong"
BUCKET = "motcua-bench"
MB = 1_000_000


def _file_bytes() -> int:
    return int(FILE_MB * MB)


def _content(base: bytes, i: int) -> bytes:
    """File ``i``: a PDF header, its number, then the shared random body (distinct
    hashes without generating ``FILES`` × 5 MB of randomness)."""
    head = b"%PDF-1.7\n%" + f"{i:08d}".encode() + b"\n"
    return head + base[len(head) :]


class RssPeak:
    """Samples a process's RSS every 20 ms; the highest seen, in MiB."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.02)

    def __enter__(self) -> RssPeak:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()

    @property
    def mib(self) -> float:
        return round(self.peak / (1024 * 1024), 1)


async def _through_the_service(http: HttpLoad, pid: int) -> dict[str, Any]:
    """Upload, upload again, download; MB/s both ways and the RSS peak."""
    auth = {
        "Authorization": f"Bearer {issue_token(AUTH_SECRET, center_id=CENTER, subject='bench')}"
    }
    dossiers = []
    for _ in range(CLIENTS):
        r = await http.post(
            "/v1/dossiers",
            b'{"procedure_code": "HT-XNTTHN"}',
            auth | {"Content-Type": "application/json"},
        )
        expect(r, 201)
        dossiers.append(r.json()["dossier"]["id"])
    base = os.urandom(_file_bytes())
    hashes: list[str] = [""] * FILES

    async def upload(k: int) -> None:
        n = k % FILES
        r = await http.request(
            "PUT",
            f"/v1/dossiers/{dossiers[n % CLIENTS]}/components/1?digitised=true",
            _content(base, n),
            auth | {"Content-Type": "application/pdf"},
        )
        expect(r, 200)
        hashes[n] = r.json()["document"]["sha256"]

    async def download(k: int) -> None:
        r = await http.get(f"/v1/dossiers/{dossiers[k % CLIENTS]}/documents/{hashes[k]}", auth)
        expect(r, 200)
        if hashlib.sha256(r.body).hexdigest() != hashes[k]:
            raise RuntimeError(f"file {k} came back different")

    with RssPeak(pid) as rss_in:
        up_s, _ = await closed_loop(FILES, CLIENTS, upload)
        again = CLIENTS
        await closed_loop(again, CLIENTS, upload)  # the first files' bytes once more
    with RssPeak(pid) as rss_out:
        down_s, _ = await closed_loop(FILES, CLIENTS, download)
    total = FILES * _file_bytes()
    return {
        "in_mb_per_s": round(total / MB / up_s, 1),
        "out_mb_per_s": round(total / MB / down_s, 1),
        "peak_rss_mib": max(rss_in.mib, rss_out.mib),
        "peak_rss_in_mib": rss_in.mib,
        "peak_rss_out_mib": rss_out.mib,
        "uploaded_again": again,
    }


async def _raw_postgres(db_url: str) -> dict[str, float]:
    """The same bytes in the same 256 KiB rows, written and read by plain asyncpg."""
    pool = await asyncpg.create_pool(db_url, min_size=CLIENTS, max_size=CLIENTS)
    assert pool is not None
    base = os.urandom(_file_bytes())
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE raw_chunks (location uuid, seq int, data bytea, "
            "PRIMARY KEY (location, seq))"
        )
    ids = [uuid.uuid4() for _ in range(FILES)]

    async def put(k: int) -> None:
        data = _content(base, k)
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO raw_chunks VALUES ($1, $2, $3)",
                [
                    (ids[k], seq, data[o : o + CHUNK_BYTES])
                    for seq, o in enumerate(range(0, len(data), CHUNK_BYTES))
                ],
            )

    async def get(k: int) -> None:
        async with pool.acquire() as conn:
            seq = 0
            while await conn.fetchval(
                "SELECT data FROM raw_chunks WHERE location = $1 AND seq = $2", ids[k], seq
            ):
                seq += 1

    try:
        up_s, _ = await closed_loop(FILES, CLIENTS, put)
        down_s, _ = await closed_loop(FILES, CLIENTS, get)
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE raw_chunks")
    finally:
        await pool.close()
    total = FILES * _file_bytes() / MB
    return {"in_mb_per_s": round(total / up_s, 1), "out_mb_per_s": round(total / down_s, 1)}


async def _raw_s3(server: S3Server) -> dict[str, float]:
    """The same bytes PUT and GET to the same MinIO by the same signed client, alone."""
    client = S3Client(
        S3Config(server.endpoint, BUCKET, server.access_key, server.secret_key, prefix="raw/")
    )
    await client.ensure_bucket()
    base = os.urandom(_file_bytes())

    async def body(data: bytes) -> AsyncIterator[bytes]:
        for o in range(0, len(data), CHUNK_BYTES):
            yield data[o : o + CHUNK_BYTES]

    async def put(k: int) -> None:
        data = _content(base, k)
        await client.put(f"raw/{k}", body(data), len(data))

    async def get(k: int) -> None:
        async for _ in client.get(f"raw/{k}"):
            pass

    try:
        up_s, _ = await closed_loop(FILES, CLIENTS, put)
        down_s, _ = await closed_loop(FILES, CLIENTS, get)
        for k in range(FILES):
            await client.delete(f"raw/{k}")
    finally:
        await client.aclose()
    total = FILES * _file_bytes() / MB
    return {"in_mb_per_s": round(total / up_s, 1), "out_mb_per_s": round(total / down_s, 1)}


async def _stored_once(db_url: str, s3: S3Client | None) -> dict[str, Any]:
    """Blobs and the bytes the backend holds, against the distinct files uploaded."""
    conn = await asyncpg.connect(db_url, server_settings={"search_path": "intake"})
    try:
        blobs, blob_bytes = await conn.fetchrow(
            "SELECT count(*), COALESCE(sum(size), 0) FROM document_blobs"
        )
        if s3 is None:
            pieces, held = await conn.fetchrow(
                "SELECT count(*), COALESCE(sum(octet_length(data)), 0) FROM document_chunks"
            )
        else:
            objects = await s3.objects()
            pieces, held = len(objects), sum(size for _, size in objects)
    finally:
        await conn.close()
    expected = FILES * _file_bytes()
    if not (blobs == FILES and blob_bytes == held == expected):
        raise RuntimeError(
            f"stored {blobs} blobs, {held} bytes; expected {FILES} blobs, {expected} bytes"
        )
    return {"blobs": blobs, "pieces": pieces, "bytes_held": held, "stored_exactly_once": True}


@contextlib.contextmanager
def _minio() -> Iterator[S3Server | None]:
    try:
        with s3_server() as server:
            yield server
    except NoS3 as exc:
        print(f"documents: S3 leg not run: {exc}", flush=True)
        yield None


async def _leg(servers: Servers, backend: str, s3: S3Server | None) -> dict[str, Any]:
    kafka = kafka_of(servers, "bench")
    await ensure_topics(kafka)
    extra = {
        "MOTCUA_INTAKE_DOCUMENTS_BACKEND": backend,
    }
    client = None
    if s3 is not None:
        extra |= {
            "MOTCUA_INTAKE_S3_ENDPOINT": s3.endpoint,
            "MOTCUA_INTAKE_S3_ACCESS_KEY": s3.access_key,
            "MOTCUA_INTAKE_S3_SECRET_KEY": s3.secret_key,
            "MOTCUA_INTAKE_S3_BUCKET": BUCKET,
            "MOTCUA_INTAKE_S3_PREFIX": f"run-{uuid.uuid4().hex[:8]}/",
        }
        client = S3Client(
            S3Config(
                s3.endpoint,
                BUCKET,
                s3.access_key,
                s3.secret_key,
                prefix=extra["MOTCUA_INTAKE_S3_PREFIX"],
            )
        )
    async with fresh_database(servers, prefix="bench_documents") as db_url:
        async with (
            running("intake", service_env(kafka, db_url, MOTCUA_DB_POOL_MAX="30", **extra)) as p,
            HttpLoad(p.url, connections=CLIENTS) as http,
        ):
            print(f"documents[{backend}]: {FILES} files of {FILE_MB} MB, {CLIENTS} clients")
            started = time.perf_counter()
            service = await _through_the_service(http, p.pid)
            service["seconds"] = round(time.perf_counter() - started, 1)
        counted = await _stored_once(db_url, client)
        raw = await (_raw_s3(s3) if s3 is not None else _raw_postgres(db_url))
    if client is not None:
        await client.aclose()
    print(f"documents[{backend}]: service {service}; raw {raw}; store {counted}", flush=True)
    return {
        f"{backend}_in_mb_per_s": service["in_mb_per_s"],
        f"{backend}_out_mb_per_s": service["out_mb_per_s"],
        f"{backend}_raw_in_mb_per_s": raw["in_mb_per_s"],
        f"{backend}_raw_out_mb_per_s": raw["out_mb_per_s"],
        f"{backend}_peak_rss_mib": service["peak_rss_mib"],
        f"{backend}_peak_rss_uploading_mib": service["peak_rss_in_mib"],
        f"{backend}_peak_rss_downloading_mib": service["peak_rss_out_mib"],
        f"{backend}_blobs": counted["blobs"],
        f"{backend}_pieces": counted["pieces"],
        f"{backend}_bytes_held": counted["bytes_held"],
        f"{backend}_stored_exactly_once": counted["stored_exactly_once"],
    }


async def run(servers: Servers) -> dict[str, Any]:
    figures: dict[str, Any] = {"files": FILES, "file_mb": FILE_MB, "clients": CLIENTS}
    if "postgres" in BACKENDS:
        figures |= await _leg(servers, "postgres", None)
    if "s3" in BACKENDS:
        with _minio() as s3:
            if s3 is not None:
                figures |= await _leg(servers, "s3", s3)
    peaks = [v for k, v in figures.items() if k.endswith("_peak_rss_mib")]
    figures["rss_goal_mib"] = RSS_GOAL_MIB
    figures["under_rss_goal"] = all(p < RSS_GOAL_MIB for p in peaks)
    return figures
