"""The appointment use cases: list free slots, book, reschedule and cancel.

Each change runs in ONE transaction with its outbox event: the booking, the places
it takes or frees and ``appointment.*`` commit or vanish together. A refused
request changes nothing: the places a booking took are rolled back with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from motcua.services.queue import appointments as rules
from motcua.services.queue import events
from motcua.services.queue.appointments import Appointment, BookingRules, Slot
from motcua.services.queue.directory import Center, Directory, Line
from motcua.services.queue.errors import Conflict, Taken, Unknown
from motcua.services.queue.repository import appointments as repo
from motcua.services.queue.repository.tickets import DuplicateLookupCode
from motcua.services.queue.settings import QueueSettings
from motcua.services.queue.usecases import ContactInput, QueueService, TicketView
from motcua.shared import crypto
from motcua.shared.bus import outbox
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.events import catalog
from motcua.shared.events.envelope import new_event
from motcua.shared.runtime import UnitsOfWork

PRODUCER = "queue"
_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Booked:
    """A booking as the API answers it; ``replayed`` when a retried request found it."""

    appointment: Appointment
    replayed: bool = False


def default_calendar(_center_id: str) -> WorkingCalendar:
    """The national working calendar of the shared kernel, for every center (the app
    passes the registry's per-center calendars instead)."""
    return WorkingCalendar.default()


class Bookings:
    """Appointments of every center the directory holds."""

    def __init__(
        self,
        db: UnitsOfWork,
        tickets: QueueService,
        calendar: Callable[[str], WorkingCalendar] = default_calendar,
    ) -> None:
        self.db = db
        self.tickets = tickets  # a check-in issues its ticket in the same transaction
        self.calendar = calendar

    # The queue's directory, settings and clock: one source, so a check-in's ticket and
    # its booking never disagree on the time or the center.
    @property
    def directory(self) -> Directory:
        return self.tickets.directory

    @property
    def settings(self) -> QueueSettings:
        return self.tickets.settings

    def clock(self) -> datetime:
        return self.tickets.clock()

    def _where(self, center_id: str, line_code: str) -> tuple[Center, Line, BookingRules]:
        center = self.directory.center(center_id)
        return center, center.line(line_code), self.settings.booking_rules(center_id)

    # ---------------------------------------------------------------- read

    async def free_slots(self, center_id: str, line_code: str, day: date | None) -> list[Slot]:
        """The slots of a line open for booking now, on one local day or on every open day."""
        center, line, book_rules = self._where(center_id, line_code)
        calendar = self.calendar(center_id)
        now = self.clock()
        days = rules.open_days(calendar, now, book_rules)
        if day is not None:
            days = [d for d in days if d == day]
        if not days:
            return []
        cap = rules.capacity(center, line, book_rules)
        starts = [
            s
            for d in days
            for s in rules.slot_starts(calendar, d, book_rules)
            if rules.bookable(s, now, book_rules)
        ]
        if not starts or cap == 0:
            return []
        async with self.db.unit_of_work(readonly=True) as conn:
            per_slot = await repo.booked_per_slot(conn, center_id, line.code, starts[0], starts[-1])
        per_day: dict[date, int] = {}
        for start, n in per_slot.items():
            d = calendar.local_date(start)
            per_day[d] = per_day.get(d, 0) + n
        full_days = {d for d, n in per_day.items() if n >= book_rules.daily_cap_per_line}
        slots = (
            Slot(s, s + book_rules.slot_length, cap, per_slot.get(s, 0))
            for s in starts
            if calendar.local_date(s) not in full_days
        )
        return [s for s in slots if s.free > 0]

    async def by_code(self, center_id: str, code: str) -> Appointment:
        async with self.db.unit_of_work(readonly=True) as conn:
            found = await repo.by_code(conn, rules.normalise_code(code))
        return self._of_center(found, center_id)

    # --------------------------------------------------------------- write

    async def book(
        self,
        center_id: str,
        line_code: str,
        slot_start: datetime,
        *,
        contact: ContactInput | None = None,
        idempotency_key: str | None = None,
    ) -> Booked:
        """Book one place of a slot; a repeated idempotency key answers the first booking."""
        center, line, book_rules = self._where(center_id, line_code)
        calendar = self.calendar(center_id)
        for _ in range(_CODE_ATTEMPTS):
            try:
                async with self.db.unit_of_work() as conn:
                    if idempotency_key is not None:
                        earlier = await repo.by_request(conn, center_id, idempotency_key)
                        if earlier is not None:
                            return self._replay(earlier, line, slot_start)
                    now = self.clock()
                    start, end, day = rules.check_slot(
                        calendar, center, line, slot_start, now, book_rules
                    )
                    cap = rules.capacity(center, line, book_rules)
                    if await repo.slot_full(conn, center_id, line.code, start, cap):
                        raise Taken("slot_start", "slot_full")
                    appointment_id = uuid.uuid4()
                    booked = rules.book(
                        appointment_id=appointment_id,
                        center=center,
                        line=line,
                        slot=(start, end),
                        code=rules.new_code(),
                        at=now,
                        contact=self._seal(contact, appointment_id),
                    )
                    await repo.insert(conn, booked, day, idempotency_key)
                    payload = catalog.AppointmentBooked(**_facts(booked), booked_at=now)
                    await self._emit(conn, booked, payload, now)
                    # The place last: its row stays locked only until the commit, so
                    # racing bookers of the slot wait as little as possible.
                    await self._take(conn, center, line, start, day, book_rules)
                    return Booked(booked)
            except (repo.DuplicateCode, repo.DuplicateRequest):
                continue  # a fresh code, or the concurrent twin's booking, on the next attempt
        raise Conflict("could not book; please retry")

    async def reschedule(
        self,
        center_id: str,
        code: str,
        slot_start: datetime,
        *,
        idempotency_key: str | None = None,
    ) -> Booked:
        """Move a booking to another slot of its line: the new place is taken before the
        old one is given back, so a full slot leaves the booking where it was."""
        async with self.db.unit_of_work() as conn:
            current = await self._lock(conn, center_id, code)
            if await self._repeated(conn, current, idempotency_key):
                return Booked(current, replayed=True)
            center, line, book_rules = self._where(center_id, current.line_code)
            calendar = self.calendar(center_id)
            now = self.clock()
            start, end, day = rules.check_slot(calendar, center, line, slot_start, now, book_rules)
            moved = rules.reschedule(current, (start, end))
            # Slot rows are locked in time order, so two bookings swapping slots cannot
            # deadlock; a refusal rolls the freed place back.
            if current.slot_start < start:
                await repo.free_place(conn, center_id, line.code, current.slot_start)
                await self._take(conn, center, line, start, day, book_rules)
            else:
                await self._take(conn, center, line, start, day, book_rules)
                await repo.free_place(conn, center_id, line.code, current.slot_start)
            await repo.save(conn, moved, day, idempotency_key)
            payload = catalog.AppointmentRescheduled(
                **_facts(moved), previous_slot_start=current.slot_start
            )
            await self._emit(conn, moved, payload, now)
            return Booked(moved)

    async def cancel(
        self, center_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Booked:
        """Cancel a booking; its place in the slot is free for someone else at once."""
        async with self.db.unit_of_work() as conn:
            current = await self._lock(conn, center_id, code)
            if await self._repeated(conn, current, idempotency_key):
                return Booked(current, replayed=True)
            cancelled = rules.cancel(current)
            calendar = self.calendar(center_id)
            day = calendar.local_date(current.slot_start)
            await repo.free_place(conn, center_id, current.line_code, current.slot_start)
            await repo.save(conn, cancelled, day, idempotency_key)
            payload = catalog.AppointmentCancelled(**_facts(cancelled))
            await self._emit(conn, cancelled, payload, self.clock())
            return Booked(cancelled)

    # ------------------------------------------------------------ kiosk

    async def check_in(self, center_id: str, code: str) -> tuple[Appointment, TicketView]:
        """The kiosk takes a booking code within the window around the slot and issues a
        ticket marked as an appointment, placed in the queue at the slot's start."""
        center = self.directory.center(center_id)
        for _ in range(_CODE_ATTEMPTS):
            try:
                async with self.db.unit_of_work() as conn:
                    current = await self._lock(conn, center_id, code)
                    book_rules = self.settings.booking_rules(center_id)
                    now = self.clock()
                    rules.check_in_open(current, now, book_rules)
                    view = await self.tickets.issue_in(
                        conn,
                        center,
                        center.line(current.line_code),
                        None,
                        None,
                        None,
                        booking=(current.appointment_id, current.slot_start),
                    )
                    ticket = view.ticket
                    came = rules.check_in(current, ticket.ticket_id, now, book_rules)
                    day = self.calendar(center_id).local_date(came.slot_start)
                    await repo.save(conn, came, day)
                    payload = catalog.AppointmentCheckedIn(
                        **_facts(came),
                        ticket_id=ticket.ticket_id,
                        number=ticket.number,
                        checked_in_at=now,
                    )
                    await self._emit(conn, came, payload, now)
                    return came, view
            except DuplicateLookupCode:
                continue  # the ticket's random lookup code was taken: draw another
        raise Conflict("could not check in; please retry")

    async def mark_no_shows(self, conn: asyncpg.Connection, batch: int = 200) -> int:
        """Bookings whose check-in window closed without the citizen: no-shows, each with
        its event. Runs on its own (``app.py``); SKIP LOCKED lets replicas share it."""
        async with conn.transaction():
            now = self.clock()
            overdue = await repo.lock_unchecked(conn, now, batch)
            marked = 0
            for a in overdue:
                gone = rules.no_show(a, now, self.settings.booking_rules(a.center_id))
                if gone is None:
                    continue  # this center's check-in window is still open
                day = self.calendar(a.center_id).local_date(a.slot_start)
                await repo.save(conn, gone, day)
                await self._emit(conn, gone, catalog.AppointmentNoShow(**_facts(gone)), now)
                marked += 1
            return marked

    # ------------------------------------------------------------ plumbing

    async def _take(
        self,
        conn: asyncpg.Connection,
        center: Center,
        line: Line,
        start: datetime,
        day: date,
        book_rules: BookingRules,
    ) -> None:
        capacity = rules.capacity(center, line, book_rules)
        calendar = self.calendar(center.center_id)
        full = await repo.take_place(
            conn,
            center.center_id,
            line.code,
            start,
            capacity=capacity,
            day=rules.binding_cap_span(calendar, day, capacity, book_rules),
            daily_cap=book_rules.daily_cap_per_line,
        )
        if full is not None:
            raise Taken("slot_start", full)

    async def _lock(self, conn: asyncpg.Connection, center_id: str, code: str) -> Appointment:
        self.directory.center(center_id)
        found = await repo.lock_by_code(conn, rules.normalise_code(code))
        return self._of_center(found, center_id)

    @staticmethod
    def _of_center(found: Appointment | None, center_id: str) -> Appointment:
        if found is None:
            raise Unknown("code", "code_unknown")
        if found.center_id != center_id:
            # Booked elsewhere: say so, but not where (the code is all the caller shows).
            raise Unknown("code", "code_other_center")
        return found

    @staticmethod
    async def _repeated(conn: asyncpg.Connection, a: Appointment, key: str | None) -> bool:
        return key is not None and await repo.last_request(conn, a.appointment_id) == key

    @staticmethod
    def _replay(earlier: Appointment, line: Line, slot_start: datetime) -> Booked:
        """The booking a repeated request already made; no new place, no new event."""
        if earlier.line_code != line.code or (
            earlier.slot_start != slot_start and earlier.status == rules.AppointmentStatus.BOOKED
        ):
            raise Taken("Idempotency-Key", "key_reused")
        return Booked(earlier, replayed=True)

    async def _emit(
        self,
        conn: asyncpg.Connection,
        a: Appointment,
        payload: catalog.AppointmentFacts,
        at: datetime,
    ) -> None:
        event = new_event(
            payload,
            center_id=a.center_id,
            producer=PRODUCER,
            correlation_id=a.appointment_id,  # one chain per booking
            occurred_at=at,
        )
        await outbox.add(conn, event)

    def _seal(
        self, contact: ContactInput | None, appointment_id: uuid.UUID
    ) -> dict[str, Any] | None:
        if contact is None:
            return None
        keys = self.settings.contact_keyring(crypto.BUS)
        # Bound to the booking as a ticket's is to the ticket: context = appointment id.
        return events.seal_contact(
            keys, contact.kind, contact.value, contact.language, appointment_id
        )


def _facts(a: Appointment) -> dict[str, object]:
    return {
        "appointment_id": a.appointment_id,
        "line_code": a.line_code,
        "code": a.code,
        "slot_start": a.slot_start,
        "slot_end": a.slot_end,
        "contact": catalog.SealedContact(**a.contact) if a.contact else None,
    }
