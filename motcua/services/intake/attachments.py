"""The use cases of stored documents: attach a component or a result to a dossier,
read them back, and verify a result.

Everything that can be checked before a byte is read is checked first: the dossier
and its center, the component, the sizes, and for a result the dossier's outcome and
the center's signing key. The upload is then stored (``storage``: its own transaction,
which records the blob only once every byte has arrived) and attached in one unit of
work that records the attachment, its event in the outbox (no status changes, so no
history row) and, for a result, the signed verification record. A crash between the
two leaves a blob no dossier names, which the retention sweep deletes
(``purge_documents``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import asyncpg

from motcua.services.intake.documents import (
    Limits,
    Refused,
    VerificationRecord,
    component_of,
    download_token,
    open_download_token,
    safe_file_name,
)
from motcua.services.intake.domain import SUBMITTED_STEP, StatusList, Step
from motcua.services.intake.errors import Conflict, NotFound
from motcua.services.intake.queries import dossier_of_center
from motcua.services.intake.repository import documents as repo
from motcua.services.intake.repository.documents import Attached, Kind, ResultRecord
from motcua.services.intake.repository.dossiers import DossierRecord
from motcua.services.intake.signing import SigningKeys
from motcua.services.intake.storage import DocumentStore, Stored
from motcua.shared.bus import outbox
from motcua.shared.events.catalog import DossierDocumentAttached
from motcua.shared.events.envelope import new_event
from motcua.shared.logging import get_logger
from motcua.shared.runtime import ServiceRuntime

log = get_logger(__name__)

DOWNLOAD_TOKEN_SECONDS = 600


@dataclass(frozen=True)
class Upload:
    """An upload as the route hands it over: a stream and what the request declared."""

    body: AsyncIterator[bytes]
    size: int | None
    media_type: str | None
    file_name: str | None


@dataclass(frozen=True)
class Outcome:
    attached: Attached
    stored_new: bool  # the content was not in the store yet
    recorded_new: bool  # the dossier did not hold it for this component yet
    verification: ResultRecord | None = None


@dataclass(frozen=True)
class Verdict:
    """What the verification page says: genuine (with the record) or not ours; and the
    hash that was checked, when a file or a hash was."""

    record: ResultRecord | None
    sha256: bytes | None = None

    @property
    def genuine(self) -> bool:
        return self.record is not None


@dataclass
class Attachments:
    runtime: ServiceRuntime
    store: DocumentStore
    limits: Limits
    keys: SigningKeys
    statuses: StatusList
    tz: tzinfo
    download_key: bytes = b""
    producer: str = "intake"

    async def attach(
        self,
        upload: Upload,
        *,
        dossier_id: uuid.UUID,
        center_id: str,
        kind: Kind,
        component: int,
        actor: str,
        digitised: bool,
        now: datetime,
        by_citizen: bool = False,
    ) -> Outcome:
        """Store ``upload`` and attach it to the dossier; refused with nothing stored
        when the dossier, component, size or type is wrong. ``by_citizen``: the citizen
        files their own components, only while the dossier waits for acceptance."""
        async with self.runtime.unit_of_work() as conn:  # checks before reading a byte
            # Whose dossier first: a caller of another center learns nothing more about
            # the upload than that the dossier is not theirs.
            record = await dossier_of_center(conn, dossier_id, center_id)
            self.limits.check_declared(upload.size)
            assert upload.size is not None
            name = self._component_name(record, kind, component)
            if by_citizen:
                self._check_waiting(record)
            if kind == "result":
                self._check_resolved(record)
                self.keys.require(center_id)
            self.limits.check_dossier(await repo.bytes_held(conn, dossier_id), upload.size)
        stored = await self.store.put(
            upload.body, size=upload.size, declared_type=upload.media_type, limits=self.limits
        )
        attached = Attached(
            dossier_id=dossier_id,
            kind=kind,
            component=component,
            sha256=stored.sha256,
            size=stored.size,
            media_type=stored.media_type,
            file_name=safe_file_name(upload.file_name, stored.media_type),
            attached_by=actor,
            digitised=digitised,
            attached_at=now,
        )
        async with self.runtime.unit_of_work() as conn:
            record = await dossier_of_center(conn, dossier_id, center_id)
            if by_citizen:
                self._check_waiting(record)  # again: a clerk may have decided meanwhile
            if kind == "result":
                self._check_resolved(record)  # again: it may have changed meanwhile
            new = await repo.attach(conn, attached)
            verification = None
            if kind == "result" and new:
                verification = await self._sign(conn, record, stored, now)
            if new:
                await self._announce(conn, record, attached, name, verification)
            elif kind == "result":
                verification = next(
                    (
                        r
                        for r in await repo.records_of_dossier(conn, dossier_id)
                        if r.result_sha256 == stored.sha256
                    ),
                    None,
                )
        log.info(
            "intake.document_attached",
            dossier_id=str(dossier_id),
            kind=kind,
            component=component,
            size=stored.size,
            stored_new=stored.new,
            recorded_new=new,
        )
        return Outcome(attached, stored.new, new, verification)

    async def reuse(
        self,
        *,
        target: DossierRecord,
        source: DossierRecord,
        sha256_hex: str,
        component: int,
        now: datetime,
    ) -> Outcome:
        """Attach, as ``component`` of the citizen's waiting submission ``target``, a
        component file of their earlier dossier ``source``, by its hash: the bytes are
        already stored once, so nothing is uploaded or stored again. The caller proved it
        holds both dossiers (their code and secret) and gave consent."""
        if source.id == target.id:
            raise Refused("refer to an earlier dossier, not this one", field="from_code")
        async with self.runtime.unit_of_work() as conn:
            record = await dossier_of_center(conn, target.id, target.center_id)
            name = self._component_name(record, "component", component)
            self._check_waiting(record)
            earlier = await repo.find(conn, source.id, bytes.fromhex(sha256_hex))
            if earlier is None or earlier.kind != "component":
                raise Refused(
                    "the earlier dossier holds no component with this hash", field="sha256"
                )
            self.limits.check_dossier(await repo.bytes_held(conn, record.id), earlier.size)
            attached = Attached(
                dossier_id=record.id,
                kind="component",
                component=component,
                sha256=earlier.sha256,
                size=earlier.size,
                media_type=earlier.media_type,
                file_name=earlier.file_name,
                attached_by="citizen",
                digitised=False,
                attached_at=now,
                reused_from=source.id,
            )
            new = await repo.attach(conn, attached)
            if new:
                await self._announce(conn, record, attached, name, None)
        log.info(
            "intake.document_reused",
            dossier_id=str(record.id),
            component=component,
            recorded_new=new,
        )
        return Outcome(attached, stored_new=False, recorded_new=new)

    def _component_name(self, record: DossierRecord, kind: Kind, component: int) -> str | None:
        if kind == "result":
            return None
        return component_of(list(record.procedure.get("required_documents", [])), component)

    def _check_waiting(self, record: DossierRecord) -> None:
        # Once a clerk has accepted or refused the dossier, what it holds is what the
        # clerk decided on: the citizen can no longer add to it.
        if record.status != self.statuses.code(SUBMITTED_STEP):
            raise Conflict(
                "a citizen attaches components only while the dossier waits for "
                f"acceptance (this one is in status {record.status})"
            )

    def _check_resolved(self, record: DossierRecord) -> None:
        allowed = {self.statuses.code(Step.RESOLVED), self.statuses.code(Step.RESULT_RETURNED)}
        if record.status not in allowed or record.outcome != "approved":
            raise Conflict(
                "a result is attached to an approved, resolved dossier "
                f"(this one is in status {record.status})"
            )

    async def _sign(
        self, conn: asyncpg.Connection, record: DossierRecord, stored: Stored, now: datetime
    ) -> ResultRecord:
        body = VerificationRecord(
            dossier_code=record.code,
            center_id=record.center_id,
            issued_on=now.astimezone(self.tz).date(),
            result_sha256=stored.sha256.hex(),
        )
        data = body.canonical()
        key_id, signature = self.keys.sign(record.center_id, data)
        result = ResultRecord(
            id=uuid.uuid4(),
            dossier_id=record.id,
            center_id=record.center_id,
            dossier_code=record.code,
            issued_on=body.issued_on,
            result_sha256=stored.sha256,
            key_id=key_id,
            record=data,
            signature=signature,
        )
        await repo.insert_result_record(conn, result)
        return result

    async def _announce(
        self,
        conn: asyncpg.Connection,
        record: DossierRecord,
        a: Attached,
        name: str | None,
        verification: ResultRecord | None,
    ) -> None:
        payload = DossierDocumentAttached(
            dossier_id=record.id,
            dossier_code=record.code,
            kind=a.kind,
            component=a.component,
            component_name=name,
            sha256=a.sha256.hex(),
            size=a.size,
            media_type=a.media_type,
            digitised=a.digitised,
            verification_id=verification.id if verification else None,
            reused=a.reused_from is not None,
        )
        await outbox.add(
            conn,
            new_event(
                payload,
                center_id=record.center_id,
                producer=self.producer,
                correlation_id=record.correlation_id,
                occurred_at=a.attached_at,
            ),
        )

    # ------------------------------------------------------------------ reading

    async def listing(self, conn: asyncpg.Connection, record: DossierRecord) -> list[Attached]:
        return await repo.list_for(conn, record.id)

    async def open(
        self, conn: asyncpg.Connection, record: DossierRecord, sha256_hex: str
    ) -> tuple[Attached, AsyncIterator[bytes]]:
        """A document the dossier holds, streamed; 404 for any other hash."""
        try:
            sha256 = bytes.fromhex(sha256_hex)
        except ValueError:
            raise NotFound("no such document") from None
        attached = await repo.find(conn, record.id, sha256)
        opened = await self.store.open(sha256) if attached else None
        if attached is None or opened is None:
            raise NotFound("no such document")
        return attached, opened[2]

    async def result_downloads(
        self, dossier_id: uuid.UUID, now: datetime
    ) -> list[tuple[Attached, str]]:
        """The dossier's results, each with a token the lookup page hands the citizen for
        its download (valid ``DOWNLOAD_TOKEN_SECONDS``)."""
        async with self.runtime.read() as conn:
            found = [a for a in await repo.list_for(conn, dossier_id) if a.kind == "result"]
        expires = int(now.timestamp()) + DOWNLOAD_TOKEN_SECONDS
        return [
            (a, download_token(self.download_key, dossier_id, a.sha256, expires)) for a in found
        ]

    async def open_by_token(
        self, token: str, now: datetime
    ) -> tuple[Attached, AsyncIterator[bytes]] | None:
        named = open_download_token(self.download_key, token, int(now.timestamp()))
        if named is None:
            return None
        dossier_id, sha256 = named
        async with self.runtime.read() as conn:
            attached = await repo.find(conn, dossier_id, sha256)
        opened = await self.store.open(sha256) if attached else None
        if attached is None or opened is None:
            return None
        return attached, opened[2]

    # ------------------------------------------------------------ verification

    def genuine(self, r: ResultRecord) -> bool:
        """Whether the stored record is signed by the center's published key, and says
        what its columns say."""
        if not self.keys.verify(r.center_id, r.key_id, r.record, r.signature):
            return False
        body = VerificationRecord.parse(r.record)
        return (body.dossier_code, body.center_id, body.result_sha256) == (
            r.dossier_code,
            r.center_id,
            r.result_sha256.hex(),
        )

    async def verify_record(self, record_id: uuid.UUID) -> Verdict:
        async with self.runtime.read() as conn:
            found = await repo.result_record(conn, record_id)
        return Verdict(found if found and self.genuine(found) else None)

    async def verify_file(self, body: AsyncIterator[bytes], declared_length: int | None) -> Verdict:
        """Hash an uploaded copy of a result as it streams (never stored) and look it up.
        Bounded like an upload: the declared length is checked before a byte is read,
        and a body longer than it is cut off."""
        length = self.limits.check_declared(declared_length)
        digest = hashlib.sha256()
        seen = 0
        async for piece in body:
            seen += len(piece)
            if seen > length:
                raise Refused("the body is longer than its Content-Length", field="body")
            digest.update(piece)
        return await self.verify_hash(digest.digest())

    async def verify_hash(self, sha256: bytes) -> Verdict:
        """Whether a center signed a result with this SHA-256."""
        async with self.runtime.read() as conn:
            found = await repo.records_of_hash(conn, sha256)
        return Verdict(next((r for r in found if self.genuine(r)), None), sha256)


# ----------------------------------------------------------------- retention

# Documents of a dossier whose personal data is purged go with it: the attachments
# first, then every blob no dossier names any more (and no upload in flight: an hour's
# grace). The signed result records stay: they hold no personal data.
_DETACH = """
    DELETE FROM dossier_documents WHERE dossier_id = ANY (ARRAY(
        SELECT d.id FROM dossiers d
        WHERE d.status = ANY ($3::smallint[]) AND d.updated_at < now() - $1::interval
          AND EXISTS (SELECT 1 FROM dossier_documents x WHERE x.dossier_id = d.id)
        LIMIT $2))
"""
_ORPHANS = """
    SELECT b.sha256, b.location FROM document_blobs b
    WHERE b.stored_at < now() - interval '1 hour'
      AND NOT EXISTS (SELECT 1 FROM dossier_documents x WHERE x.sha256 = b.sha256)
    LIMIT $1
"""


def register_retention(runtime: ServiceRuntime, store: DocumentStore, closed: list[int]) -> None:
    async def purge(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
        return await purge_documents(conn, store, horizon, batch, closed)

    runtime.retention.add_purge("documents", purge)


async def purge_documents(
    conn: asyncpg.Connection,
    store: DocumentStore,
    horizon: timedelta,
    batch: int,
    closed: list[int],
) -> int:
    """Detach the documents of closed dossiers past ``horizon`` and delete the blobs no
    dossier names, and what uploads killed mid-way left in an object store; how many
    went. A row goes only after its bytes did, so a failed delete is tried again on the
    next sweep."""
    await conn.execute(_DETACH, horizon, batch, closed)
    gone = await store.sweep_abandoned(conn, batch)
    for row in await conn.fetch(_ORPHANS, batch):
        await store.backend.delete(conn, row["location"])
        await conn.execute("DELETE FROM document_blobs WHERE sha256 = $1", row["sha256"])
        gone += 1
    return gone
