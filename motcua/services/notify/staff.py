"""The staff directory of each center and its escalation ladder (``docs/staff.md``).

Notify keeps the directory because it already keeps contacts sealed, its channels and
quiet hours: a member's phone and e-mail go to ``contacts`` (subject kind ``staff``)
exactly as a citizen's do. Each change is audited (who, when, before and after, contacts
named by kind only) and published as ``staff.configured``, without name or contact, so
that intake can check that a dossier is assigned to a member of its center.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from motcua.services.notify import ladder
from motcua.services.notify.contacts import Contact, InvalidContact, normalise
from motcua.services.notify.domain import ContactKind
from motcua.services.notify.errors import Invalid
from motcua.services.notify.message_templates import language_of
from motcua.services.notify.repository import citizens
from motcua.services.notify.repository import staff as repo
from motcua.services.notify.repository.staff import StaffRow
from motcua.services.notify.usecases import STAFF, Notifier
from motcua.shared.bus import outbox
from motcua.shared.events import new_event
from motcua.shared.events.catalog import StaffConfigured
from motcua.shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class StaffChange:
    """A member as an admin writes them; ``contacts`` by kind, in plain text."""

    display_name: str
    department: str | None
    role: str
    contacts: Mapping[ContactKind, str]
    language: str | None = None
    active: bool = True


@dataclass
class StaffDirectory:
    """Writes the directory and the ladders; reads for the API."""

    notifier: Notifier

    async def write(
        self,
        conn: asyncpg.Connection,
        center_id: str,
        staff_id: str,
        change: StaffChange,
        actor: str,
        *,
        new: bool,
        action: str | None = None,
    ) -> dict[str, Any]:
        """Add a member (``new``: a staff id already in the directory is a 409), or
        replace an existing one's name, department, role, contacts and active flag."""
        contacts = self._contacts(change)
        before = None
        if new:
            row = await repo.insert_staff(
                conn, center_id, staff_id, change.display_name, change.department, change.role
            )
        else:
            old = await repo.find_staff(conn, center_id, staff_id, lock=True)
            before = await self._view(conn, old)
            row = await repo.update_staff(
                conn,
                old,
                display_name=change.display_name,
                department=change.department,
                role=change.role,
                active=change.active,
            )
        await self._save_contacts(conn, row, contacts)
        action = action or ("create" if new else "update")
        return await self._changed(conn, row, action, actor, before)

    async def deactivate(
        self, conn: asyncpg.Connection, center_id: str, staff_id: str, actor: str
    ) -> dict[str, Any]:
        """The member leaves: no more assignments, no more messages. Kept for the audit;
        their contacts are forgotten."""
        old = await repo.find_staff(conn, center_id, staff_id)
        leaving = StaffChange(old.display_name, old.department, old.role, {}, active=False)
        return await self.write(
            conn, center_id, staff_id, leaving, actor, new=False, action="deactivate"
        )

    async def members(self, conn: asyncpg.Connection, center_id: str) -> list[dict[str, Any]]:
        return [await self._view(conn, r) for r in await repo.list_staff(conn, center_id)]

    async def get(self, conn: asyncpg.Connection, center_id: str, staff_id: str) -> dict[str, Any]:
        return await self._view(conn, await repo.find_staff(conn, center_id, staff_id))

    # ------------------------------------------------------------- the ladder

    async def ladder_of(self, conn: asyncpg.Connection, center_id: str) -> dict[str, Any]:
        """Whom each stage reaches, and after how many working hours an overdue dossier
        still open reaches the leader again: the defaults until the admin sets them."""
        rungs, hours = await repo.get_ladder(conn, center_id)
        return {**{k: list(v) for k, v in rungs.items()}, "still_open_hours": hours}

    async def set_ladder(
        self,
        conn: asyncpg.Connection,
        center_id: str,
        wanted: Mapping[str, Sequence[str]],
        still_open_hours: int | None,
        actor: str,
    ) -> dict[str, Any]:
        """Replace the stages ``wanted`` names (the others keep their defaults) and, if
        given, the still-open hours (0: never)."""
        try:
            checked = ladder.valid_ladder(wanted)
        except ValueError as exc:
            raise Invalid("ladder", str(exc)) from None
        before = await self.ladder_of(conn, center_id)
        rungs: dict[str, list[str]] = {k: list(v) for k, v in checked.items()}
        hours = before["still_open_hours"] if still_open_hours is None else still_open_hours
        await repo.set_ladder(conn, center_id, rungs, hours)
        after = {**rungs, "still_open_hours": hours}
        await repo.audit(conn, center_id, "ladder", "set", actor, before, after)
        return after

    # ---------------------------------------------------------------- helpers

    def _contacts(self, change: StaffChange) -> list[Contact]:
        """The member's contacts, normalised: at least one, each valid (422 naming it)."""
        if change.active and not change.contacts:
            raise Invalid("contacts", "a staff member needs a phone or an e-mail address")
        out = []
        for kind, raw in change.contacts.items():
            try:
                address = normalise(kind, raw)
            except InvalidContact as exc:
                raise Invalid(f"contacts.{kind}", str(exc)) from None
            ref = self.notifier.ref_of(kind, address)
            out.append(Contact(kind, address, ref, language_of(change.language)))
        return out

    async def _save_contacts(
        self, conn: asyncpg.Connection, row: StaffRow, contacts: Sequence[Contact]
    ) -> None:
        await repo.drop_contacts(conn, row.id, [c.kind for c in contacts])
        for c in contacts:
            await citizens.save_contact(
                conn, STAFF, row.id, row.center_id, c, self.notifier.rest_keys
            )

    async def _view(self, conn: asyncpg.Connection, row: StaffRow) -> dict[str, Any]:
        """The member as the API shows them: contact kinds, never addresses (the admin
        who entered them has them; a leader reading the directory needs no more)."""
        return {
            "staff_id": row.staff_id,
            "center_id": row.center_id,
            **row.public(),
            "contact_kinds": await repo.contact_kinds(conn, row.id),
            "updated_at": row.updated_at,
        }

    async def _changed(
        self,
        conn: asyncpg.Connection,
        row: StaffRow,
        action: str,
        actor: str,
        before: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """After a change: the member as now shown, audited against ``before``, and
        published for intake."""
        after = await self._view(conn, row)
        audited_before = None if before is None else _audited(before)
        await repo.audit(
            conn, row.center_id, row.staff_id, action, actor, audited_before, _audited(after)
        )
        await self._publish(conn, row)
        return after

    async def _publish(self, conn: asyncpg.Connection, row: StaffRow) -> None:
        event = new_event(
            StaffConfigured(
                staff_id=row.staff_id,
                department=row.department,
                role=row.role,
                active=row.active,
                revision=row.revision,
            ),
            center_id=row.center_id,
            producer="notify",
        )
        await outbox.add(conn, event)
        log.info("notify.staff_configured", staff_id=row.staff_id, revision=row.revision)


def _audited(view: Mapping[str, Any]) -> dict[str, Any]:
    """The audit's copy of a member: JSON values only, contacts by kind."""
    return {k: v for k, v in view.items() if k not in ("updated_at", "center_id")}
