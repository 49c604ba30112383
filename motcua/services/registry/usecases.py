"""The registry's use cases: one unit of work per change.

A change is one transaction: the center's new revision, its audit row (who, when, why,
before and after) and its ``center.configured`` outbox event commit together or not at
all, so no change is published unaudited and no audited change goes unpublished. A
document equal to the current one changes nothing: no revision, no audit, no event
(so reloading unchanged files at every start publishes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from motcua.services.registry import domain, repository
from motcua.services.registry.errors import NotFound
from motcua.services.registry.files import CenterFile
from motcua.services.registry.repository import (
    PROCEDURES,
    AuditEntry,
    ProcedureAuditEntry,
    StoredCenter,
    StoredProcedure,
    versioned,
)
from motcua.services.registry.schemas import CenterDocument, ProcedureDocument
from motcua.shared.bus import outbox
from motcua.shared.events import new_event
from motcua.shared.logging import get_logger
from motcua.shared.reference.lines import LineTable
from motcua.shared.runtime import UnitsOfWork

log = get_logger(__name__)

PRODUCER = "registry"
FILE_ROLE = "file"

CATALOG_KEY = "@procedures"
"""The envelope's ``center_id`` of every ``procedure.configured``: the catalog is the
province's, not a center's, and the registry's stream keys by that field, so one fixed
key keeps every procedure's revisions on one partition, in order. The ``@`` keeps it
apart from any real center id (``[a-z0-9-]``)."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a token's subject and role, or ``file:<name>``."""

    name: str
    role: str

    @classmethod
    def file(cls, name: str) -> Actor:
        return cls(f"file:{name}", FILE_ROLE)


@dataclass(frozen=True)
class Outcome:
    center_id: str
    revision: int
    changed: bool


@dataclass(frozen=True)
class ProcedureOutcome:
    code: str
    revision: int
    changed: bool


@dataclass(frozen=True)
class Registry:
    """Every registry use case, on the runtime's units of work."""

    db: UnitsOfWork
    standard: LineTable

    async def put(
        self,
        document: CenterDocument,
        *,
        actor: Actor,
        expected: int | None,
        reason: str | None = None,
        require_expected: bool = True,
    ) -> Outcome:
        async with self.db.unit_of_work() as conn:
            return await self.apply(
                conn,
                document,
                actor=actor,
                expected=expected,
                reason=reason,
                require_expected=require_expected,
            )

    async def apply(
        self,
        conn: asyncpg.Connection,
        document: CenterDocument,
        *,
        actor: Actor,
        expected: int | None,
        reason: str | None,
        require_expected: bool,
    ) -> Outcome:
        """Check, then record a change of one center on ``conn`` (see the module)."""
        domain.check(document, self.standard)
        stored = await repository.lock_center(conn, document.center_id)
        current = (stored.revision, stored.document) if stored else None
        change = domain.plan(
            document.center_id,
            current,
            document,
            expected=expected,
            require_expected=require_expected,
        )
        if change is None:
            assert stored is not None
            return Outcome(document.center_id, stored.revision, changed=False)
        await repository.save_center(conn, change)
        await repository.insert_audit(
            conn, change, actor=actor.name, role=actor.role, reason=reason
        )
        await outbox.add(
            conn, new_event(change.event_payload(), center_id=change.center_id, producer=PRODUCER)
        )
        log.info(
            "registry.center_changed",
            center_id=change.center_id,
            revision=change.revision,
            # Who it was is in the audit; a log line carries only the kind of actor.
            role=actor.role,
        )
        return Outcome(change.center_id, change.revision, changed=True)

    async def retire(
        self, center_id: str, *, actor: Actor, expected: int | None, reason: str
    ) -> Outcome:
        """Mark a center retired: followers stop offering it; its history stays."""
        async with self.db.unit_of_work() as conn:
            stored = await repository.lock_center(conn, center_id)
            if stored is None:
                raise NotFound(center_id)
            document = CenterDocument.model_validate({**stored.document, "active": False})
            return await self.apply(
                conn, document, actor=actor, expected=expected, reason=reason, require_expected=True
            )

    async def load_files(self, files: list[CenterFile]) -> list[Outcome]:
        """Apply a province's files at start: one transaction, only what changed, each
        change audited as ``file:<name>``. A center the files do not name is left as it
        is (retiring one is an explicit act)."""
        async with self.db.unit_of_work() as conn:
            # Replicas starting together load the same files: one at a time, so the
            # second finds the first's revisions and changes nothing.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('motcua-registry-files'))")
            outcomes = [
                await self.apply(
                    conn,
                    f.document,
                    actor=Actor.file(f.name),
                    expected=None,
                    reason="loaded from the registry files",
                    require_expected=False,
                )
                for f in files
            ]
        log.info(
            "registry.files_loaded",
            files=len(files),
            changed=sum(o.changed for o in outcomes),
        )
        return outcomes

    async def get(self, center_id: str) -> StoredCenter:
        async with self.db.unit_of_work(readonly=True) as conn:
            stored = await repository.lock_center(conn, center_id, lock=False)
        if stored is None:
            raise NotFound(center_id)
        return stored

    async def centers(self) -> list[StoredCenter]:
        async with self.db.unit_of_work(readonly=True) as conn:
            return await repository.list_centers(conn)

    async def audit(self, center_id: str, *, before: int | None, limit: int) -> list[AuditEntry]:
        async with self.db.unit_of_work(readonly=True) as conn:
            if await repository.lock_center(conn, center_id, lock=False) is None:
                raise NotFound(center_id)
            return await repository.audit_page(conn, center_id, before=before, limit=limit)

    # ------------------------------------------------------------ procedures

    async def _known_lines(self, conn: asyncpg.Connection) -> set[str]:
        """The lines a procedure may be filed under: the shared ones and any a center
        of the registry opens (so load the centers before the catalog)."""
        opened = {
            line["code"]
            for c in await repository.list_centers(conn)
            for line in c.document["lines"]
        }
        return set(self.standard.codes()) | opened

    async def put_procedure(
        self,
        document: ProcedureDocument,
        *,
        actor: Actor,
        expected: int | None,
        reason: str | None = None,
    ) -> ProcedureOutcome:
        async with self.db.unit_of_work() as conn:
            return await self.apply_procedure(
                conn,
                document,
                actor=actor,
                expected=expected,
                reason=reason,
                require_expected=True,
                lines=await self._known_lines(conn),
            )

    async def apply_procedure(
        self,
        conn: asyncpg.Connection,
        document: ProcedureDocument,
        *,
        actor: Actor,
        expected: int | None,
        reason: str | None,
        require_expected: bool,
        lines: set[str],
    ) -> ProcedureOutcome:
        """Check, then record a change of one procedure on ``conn``: its new revision,
        audit row and ``procedure.configured`` event together, or nothing."""
        domain.check_procedure(document, lines)
        stored = await versioned.lock(conn, PROCEDURES, document.code, StoredProcedure, lock=True)
        current = (stored.revision, stored.document) if stored else None
        change = domain.plan_procedure(
            document.code,
            current,
            document,
            expected=expected,
            require_expected=require_expected,
        )
        if change is None:
            assert stored is not None
            return ProcedureOutcome(document.code, stored.revision, changed=False)
        await versioned.save(conn, PROCEDURES, *change.row())
        await versioned.insert_audit(
            conn, PROCEDURES, *change.row(), actor=actor.name, role=actor.role, reason=reason
        )
        await outbox.add(
            conn, new_event(change.event_payload(), center_id=CATALOG_KEY, producer=PRODUCER)
        )
        log.info(
            "registry.procedure_changed",
            code=change.code,
            revision=change.revision,
            role=actor.role,
        )
        return ProcedureOutcome(change.code, change.revision, changed=True)

    async def retire_procedure(
        self, code: str, *, actor: Actor, expected: int | None, reason: str
    ) -> ProcedureOutcome:
        """Retire the procedure: no new filings; dossiers received keep their snapshot."""
        async with self.db.unit_of_work() as conn:
            stored = await versioned.lock(conn, PROCEDURES, code, StoredProcedure, lock=True)
            if stored is None:
                raise NotFound(code, "procedure")
            document = ProcedureDocument.model_validate({**stored.document, "active": False})
            return await self.apply_procedure(
                conn,
                document,
                actor=actor,
                expected=expected,
                reason=reason,
                require_expected=True,
                # A retired procedure keeps its line even if no center opens it any more.
                lines={document.line_code},
            )

    async def load_procedures(
        self, procedures: list[ProcedureDocument], *, file: str
    ) -> list[ProcedureOutcome]:
        """Apply the catalog file at start: one transaction, only what changed, each
        change audited as ``file:<name>``; a procedure the file omits stays as it is."""
        async with self.db.unit_of_work() as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('motcua-registry-procedures'))"
            )
            lines = await self._known_lines(conn)
            outcomes = [
                await self.apply_procedure(
                    conn,
                    p,
                    actor=Actor.file(file),
                    expected=None,
                    reason="loaded from the registry files",
                    require_expected=False,
                    lines=lines,
                )
                for p in procedures
            ]
        log.info(
            "registry.procedures_loaded",
            procedures=len(procedures),
            changed=sum(o.changed for o in outcomes),
        )
        return outcomes

    async def procedure(self, code: str) -> StoredProcedure:
        async with self.db.unit_of_work(readonly=True) as conn:
            stored = await versioned.lock(conn, PROCEDURES, code, StoredProcedure, lock=False)
        if stored is None:
            raise NotFound(code, "procedure")
        return stored

    async def procedures(self) -> list[StoredProcedure]:
        async with self.db.unit_of_work(readonly=True) as conn:
            return await versioned.list_all(conn, PROCEDURES, StoredProcedure)

    async def procedure_audit(
        self, code: str, *, before: int | None, limit: int
    ) -> list[ProcedureAuditEntry]:
        async with self.db.unit_of_work(readonly=True) as conn:
            if await versioned.lock(conn, PROCEDURES, code, StoredProcedure, lock=False) is None:
                raise NotFound(code, "procedure")
            return await versioned.audit_page(
                conn, PROCEDURES, code, ProcedureAuditEntry, before=before, limit=limit
            )
