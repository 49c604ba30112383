"""SIGKILL of intake in the middle of an upload, then a restart: nothing of the upload is
kept, on either backend, and the same file then uploads whole.

The service runs as ``python -m motcua.services.intake``. A client declares 4 MB, sends
half, and the process is killed while it waits for the rest: the PostgreSQL backend's
chunk rows die with their transaction; the S3 backend leaves its in-flight row, which
the sweep turns into nothing (the object, if any, deleted).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from motcua.devtools.minio import NoS3, S3Server, s3_server
from motcua.services.intake.storage import DocumentStore
from motcua.services.intake.storage.s3 import S3Backend, S3Client, S3Config
from motcua.shared.auth import issue_token
from motcua.shared.settings import KafkaSettings
from tests.support.process import ServiceProcess, service_env
from tests.support.waiting import eventually

SECRET = "sigkill-documents-secret"
CENTER = "nam-cuong"
DECLARED = 4_000_000

pytestmark = pytest.mark.slow

# The killed process's session, writing chunk rows in its open transaction.
_WRITING_CHUNKS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND query LIKE 'INSERT INTO document_chunks%'
"""


@pytest.fixture(scope="module")
def minio() -> Iterator[S3Server]:
    try:
        with s3_server() as server:
            yield server
    except NoS3 as exc:
        pytest.skip(str(exc))


async def _half_an_upload(url: str, path: str, auth: str) -> asyncio.StreamWriter:
    """Declare ``DECLARED`` bytes, send half, and stay connected (the kill comes now):
    the caller holds the connection open until then."""
    host, port = url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/pdf\r\n"
        f"Content-Length: {DECLARED}\r\nAuthorization: {auth}\r\n\r\n".encode()
        + b"%PDF-1.7\n"
        + os.urandom(DECLARED // 2)
    )
    await writer.drain()
    return writer


@pytest.mark.parametrize("backend", ["postgres", "s3"])
async def test_a_kill_mid_upload_keeps_nothing_and_the_file_then_uploads_whole(
    backend: str,
    request: pytest.FixtureRequest,
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
) -> None:
    env = service_env(
        "intake",
        database_url,
        kafka_settings,
        MOTCUA_AUTH_SECRET=SECRET,
        MOTCUA_INTAKE_DOCUMENTS_BACKEND=backend,
    )
    s3: S3Client | None = None
    if backend == "s3":
        server: S3Server = request.getfixturevalue("minio")
        prefix = f"sigkill-{os.urandom(4).hex()}/"
        env |= {
            "MOTCUA_INTAKE_S3_ENDPOINT": server.endpoint,
            "MOTCUA_INTAKE_S3_ACCESS_KEY": server.access_key,
            "MOTCUA_INTAKE_S3_SECRET_KEY": server.secret_key,
            "MOTCUA_INTAKE_S3_PREFIX": prefix,
        }
        s3 = S3Client(
            S3Config(
                server.endpoint,
                "motcua-documents",
                server.access_key,
                server.secret_key,
                prefix=prefix,
            )
        )
    first = ServiceProcess("intake", env, tmp_path / "intake.log", graceful=False)
    second = ServiceProcess("intake", env, tmp_path / "intake.log", graceful=False)
    try:
        await _kill_mid_upload_then_upload(first, second, database_url, s3, backend)
    finally:
        for p in (first, second):
            await p.stop()
        if s3 is not None:
            await s3.aclose()


async def _kill_mid_upload_then_upload(
    first: ServiceProcess,
    second: ServiceProcess,
    database_url: str,
    s3: S3Client | None,
    backend: str,
) -> None:
    auth = f"Bearer {issue_token(SECRET, center_id=CENTER, subject='clerk-1')}"
    await first.start()
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
        r = await http.post(
            "/v1/dossiers", json={"procedure_code": "HT-XNTTHN"}, headers={"Authorization": auth}
        )
        assert r.status_code == 201, r.text
        dossier_id = r.json()["dossier"]["id"]
    path = f"/v1/dossiers/{dossier_id}/components/1"
    db = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
    try:
        connection = await _half_an_upload(first.url, path, auth)

        async def receiving() -> bool:  # the upload has reached the backend
            if backend == "postgres":
                return bool(await db.fetchval(_WRITING_CHUNKS))
            return bool(await db.fetchval("SELECT count(*) FROM document_uploads"))

        await eventually(receiving, what="the upload under way")
        await first.kill()
        connection.close()

        await second.start()

        async def rolled_back() -> bool:  # PostgreSQL has ended the killed session
            return not await db.fetchval("SELECT count(*) FROM document_chunks")

        await eventually(rolled_back, what="the killed upload's transaction gone")
        assert await db.fetchval("SELECT count(*) FROM document_blobs") == 0
        assert await db.fetchval("SELECT count(*) FROM dossier_documents") == 0
        if s3 is not None:
            # The in-flight row names what may be in the bucket; an hour on, the sweep
            # deletes it. Age the row rather than wait the hour.
            assert await db.fetchval("SELECT count(*) FROM document_uploads") == 1
            await db.execute("UPDATE document_uploads SET started_at = now() - interval '2h'")
            pool = await asyncpg.create_pool(
                database_url, min_size=1, max_size=2, server_settings={"search_path": "intake"}
            )
            assert pool is not None
            try:
                store = DocumentStore(S3Backend(s3), lambda: pool)
                async with db.transaction():
                    assert await store.sweep_abandoned(db, 10) == 1
            finally:
                await pool.close()
            assert await s3.keys() == []
            assert await db.fetchval("SELECT count(*) FROM document_uploads") == 0

        whole = b"%PDF-1.7\n" + os.urandom(DECLARED - 9)
        async with httpx.AsyncClient(base_url=second.url, timeout=60) as http:
            r = await http.put(
                path,
                content=whole,
                headers={"Authorization": auth, "Content-Type": "application/pdf"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["stored_new"] is True
            sha256 = r.json()["document"]["sha256"]
            down = await http.get(
                f"/v1/dossiers/{dossier_id}/documents/{sha256}", headers={"Authorization": auth}
            )
            assert down.content == whole
    finally:
        await db.close()
