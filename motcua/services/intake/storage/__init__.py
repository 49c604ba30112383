"""The document store: files kept once by their SHA-256, in one of two backends.

:class:`DocumentStore` takes an upload as a stream and never holds more than one
chunk of it: it checks the declared length before reading, the media type on the
first bytes, and the length again as the bytes flow (more than declared is cut off,
fewer is a truncated upload). The backend writes the bytes under a fresh location;
only once every byte has arrived is the blob recorded under its hash, in the same
transaction as the PostgreSQL backend's chunks. A broken upload therefore leaves
nothing, and content already stored is not stored again (the new copy is dropped).

Backends (:class:`Backend`): ``postgres`` (chunk rows in intake's schema, the
embedded default) and ``s3`` (any S3-compatible object store).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import asyncpg

from motcua.services.intake.documents import SNIFF_BYTES, Limits, Refused
from motcua.services.intake.errors import IntakeError

CHUNK_BYTES = 256 * 1024
"""The unit the store moves bytes in: one PostgreSQL row, one read from a download."""

BackendName = Literal["postgres", "s3"]


class StorageUnavailable(IntakeError):
    """The backend cannot be reached now (503, with a time to retry)."""

    retry_after = 5


class Truncated(Refused):
    """The body ended before the declared length: nothing is stored."""


class Backend(Protocol):
    """Where the bytes of blobs live. Locations are opaque to the caller."""

    @property
    def name(self) -> BackendName:
        """How ``document_blobs.backend`` names it."""

    @property
    def outside_transaction(self) -> bool:
        """Whether the bytes are written outside the database transaction (an object
        store), so that an upload cut short by a crash must be found and deleted later."""

    async def write(
        self, conn: asyncpg.Connection, location: str, chunks: AsyncIterator[bytes], size: int
    ) -> None:
        """Store ``size`` bytes from ``chunks`` at ``location``. ``conn`` is the
        transaction that will record the blob: a backend in the database writes in it."""

    def read(self, location: str) -> AsyncIterator[bytes]:
        """The bytes at ``location``, chunk by chunk."""

    async def discard(self, location: str) -> None:
        """Drop bytes written outside the transaction (a duplicate or a failed upload)."""

    async def delete(self, conn: asyncpg.Connection, location: str) -> None:
        """Delete a recorded blob's bytes (the purge), in ``conn``'s transaction."""


@dataclass(frozen=True)
class Stored:
    sha256: bytes
    size: int
    media_type: str
    new: bool  # False: the same content was already stored, and is not stored twice


class _Upload:
    """An upload's bytes, checked as they flow: at most ``size`` bytes, at least the
    same, hashed on the way. ``head`` is the first bytes, for the media type."""

    def __init__(self, body: AsyncIterator[bytes], size: int) -> None:
        self.body = body
        self.size = size
        self.seen = 0
        self.digest = hashlib.sha256()
        self.pending = bytearray()

    async def head(self) -> bytes:
        while len(self.pending) < min(SNIFF_BYTES, self.size):
            if not await self._more():
                break
        return bytes(self.pending[:SNIFF_BYTES])

    async def _more(self) -> bool:
        async for piece in self.body:
            if not piece:
                continue
            self.seen += len(piece)
            if self.seen > self.size:
                raise Refused(
                    f"the body is longer than its Content-Length ({self.size})", field="body"
                )
            self.pending += piece
            return True
        return False

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            while len(self.pending) < CHUNK_BYTES and await self._more():
                pass
            if not self.pending:
                break
            chunk = bytes(self.pending[:CHUNK_BYTES])
            del self.pending[:CHUNK_BYTES]
            self.digest.update(chunk)
            yield chunk
        if self.seen < self.size:
            raise Truncated(
                f"the upload ended after {self.seen} of {self.size} bytes; nothing was stored",
                field="body",
            )


class _AlreadyStored(Exception):
    """Rolls back an upload whose content the store already holds."""


_RECORD_BLOB = """
    INSERT INTO document_blobs (sha256, size, media_type, backend, location)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING RETURNING true
"""


_UPLOAD_STARTED = "INSERT INTO document_uploads (location) VALUES ($1)"
_UPLOAD_DONE = "DELETE FROM document_uploads WHERE location = $1"
_ABANDONED = """
    SELECT location FROM document_uploads
    WHERE started_at < now() - interval '1 hour' ORDER BY started_at LIMIT $1
"""


class DocumentStore:
    """Blobs by hash over one :class:`Backend`; see the module docstring."""

    def __init__(self, backend: Backend, pool: Callable[[], asyncpg.Pool]) -> None:
        self.backend = backend
        self._pool = pool

    async def put(
        self,
        body: AsyncIterator[bytes],
        *,
        size: int,
        declared_type: str | None,
        limits: Limits,
    ) -> Stored:
        """Store an upload of ``size`` declared bytes, or refuse it having stored
        nothing."""
        limits.check_declared(size)
        upload = _Upload(body, size)
        media_type = limits.check_type(declared_type, await upload.head())
        location = new_location()
        async with self._pool().acquire() as conn:
            if self.backend.outside_transaction:  # committed before the first byte goes out
                await conn.execute(_UPLOAD_STARTED, location)
            try:
                async with conn.transaction():
                    await self.backend.write(conn, location, upload.chunks(), size)
                    sha256 = upload.digest.digest()
                    new = await conn.fetchval(
                        _RECORD_BLOB, sha256, size, media_type, self.backend.name, location
                    )
                    if not new:
                        raise _AlreadyStored
                    await conn.execute(_UPLOAD_DONE, location)
            except _AlreadyStored:
                await self._abandon(conn, location)
                return Stored(sha256, size, media_type, new=False)
            except BaseException:
                await self._abandon(conn, location)
                raise
        return Stored(sha256, size, media_type, new=True)

    async def _abandon(self, conn: asyncpg.Connection, location: str) -> None:
        """Drop the bytes of an upload that is not kept, then its in-flight row. If the
        object store fails here, the row stays and the retention sweep tries again."""
        if self.backend.outside_transaction:
            try:
                await self.backend.discard(location)
            except StorageUnavailable:
                return  # the row stays for the sweep; the caller's own error goes on
            await conn.execute(_UPLOAD_DONE, location)

    async def sweep_abandoned(self, conn: asyncpg.Connection, batch: int) -> int:
        """Delete what uploads killed mid-way left in the object store; how many."""
        rows = await conn.fetch(_ABANDONED, batch)
        for row in rows:
            await self.backend.discard(row["location"])
            await conn.execute(_UPLOAD_DONE, row["location"])
        return len(rows)

    async def open(self, sha256: bytes) -> tuple[int, str, AsyncIterator[bytes]] | None:
        """Size, media type and bytes of a stored blob, or ``None``."""
        async with self._pool().acquire() as conn:
            row = await conn.fetchrow(
                "SELECT size, media_type, backend, location FROM document_blobs WHERE sha256 = $1",
                sha256,
            )
        if row is None:
            return None
        if row["backend"] != self.backend.name:
            # Stored before a switch of backends and not moved: say so, never guess.
            raise StorageUnavailable(
                f"the document is in the {row['backend']} backend, which is not the one "
                f"configured ({self.backend.name}); move it first (docs/documents.md)"
            )
        return row["size"], row["media_type"], self.backend.read(row["location"])


def new_location() -> str:
    return str(uuid.uuid4())
