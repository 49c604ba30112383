"""The queue's use cases (the write side), shared by the HTTP API and any future handler.

Each use case runs in ONE transaction that writes the state change, its history
row, exactly one outbox event and one display notification. They commit or
vanish together, so the bus, the statistics and the display board never
disagree with the tickets.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg

from motcua.services.queue import domain, events
from motcua.services.queue.directory import Center, Directory, Line
from motcua.services.queue.domain import Change, Ticket
from motcua.services.queue.errors import Conflict
from motcua.services.queue.repository import tickets as repo
from motcua.services.queue.settings import QueueSettings
from motcua.shared import crypto
from motcua.shared.bus import outbox
from motcua.shared.events import catalog
from motcua.shared.events.envelope import Payload, new_event, ticket_correlation
from motcua.shared.runtime import UnitsOfWork

Clock = Callable[[], datetime]
Admission = Callable[[asyncpg.Connection, datetime], Awaitable[tuple[str, str]]]
"""Admits one more remote ticket (or refuses): the digests of its phone and address."""
PRODUCER = "queue"
# Service times older than this say little about today's pace.
RECENT_SERVICE = timedelta(days=30)
_LOOKUP_ATTEMPTS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ContactInput:
    """A contact the citizen typed at the kiosk, with consent; sealed before it is stored."""

    kind: Literal["phone", "email"]
    value: str
    language: Literal["vi", "en"] = "vi"

    def __repr__(self) -> str:  # never print the contact itself
        return f"ContactInput(kind={self.kind!r}, value=***)"


@dataclass(frozen=True)
class TicketView:
    """A ticket with its live place in the queue (position and wait only while waiting)."""

    ticket: Ticket
    position: int | None = None
    estimated_wait_seconds: int | None = None
    replayed: bool = False


class QueueService:
    """Commands on tickets and counters."""

    def __init__(
        self,
        db: UnitsOfWork,
        directory: Directory,
        settings: QueueSettings,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.directory = directory
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------- kiosk

    async def issue(
        self,
        center_id: str,
        line_code: str,
        *,
        priority_reason: str | None = None,
        contact: ContactInput | None = None,
        idempotency_key: str | None = None,
        admit: Admission | None = None,
    ) -> TicketView:
        """Issue the next number on a line; a repeated idempotency key returns the first
        ticket. ``admit`` makes it a remote ticket: it checks, in the same transaction,
        that one more may be given, and names its phone and client address."""
        center = self.directory.center(center_id)
        line = center.line(line_code)
        for _ in range(_LOOKUP_ATTEMPTS):
            try:
                async with self.db.unit_of_work() as conn:
                    if idempotency_key is not None:
                        earlier = await repo.ticket_by_request(conn, center_id, idempotency_key)
                        if earlier is not None:
                            return await self._replay(conn, earlier, line)
                    remote = await admit(conn, self.clock()) if admit is not None else None
                    return await self.issue_in(
                        conn, center, line, priority_reason, contact, idempotency_key, remote=remote
                    )
            except (repo.DuplicateLookupCode, repo.DuplicateRequest):
                continue  # a fresh code, or the concurrent twin's ticket, on the next attempt
        raise Conflict("could not issue a ticket; please retry")

    async def issue_in(
        self,
        conn: asyncpg.Connection,
        center: Center,
        line: Line,
        priority_reason: str | None,
        contact: ContactInput | None,
        idempotency_key: str | None,
        *,
        booking: tuple[uuid.UUID, datetime] | None = None,
        remote: tuple[str, str] | None = None,
    ) -> TicketView:
        """Issue in the caller's transaction. ``booking`` (appointment id, slot start) is
        a booked citizen's check-in; ``remote`` (the digests of the phone and of the
        client address) a ticket taken from a phone."""
        now = self.clock()
        seq = await repo.next_ticket_seq(conn, center.center_id, line.code, center.local_day(now))
        ticket_id = uuid.uuid4()
        change = domain.issue(
            ticket_id=ticket_id,
            center=center,
            line=line,
            seq=seq,
            at=now,
            lookup_code=domain.new_lookup_code(),
            priority_reason=priority_reason,
            contact=self._seal(contact, ticket_id),
            appointment_id=booking[0] if booking else None,
            slot_start=booking[1] if booking else None,
            remote=remote is not None,
        )
        event_id = uuid.uuid4()
        ticket, facts = await repo.insert_ticket(
            conn,
            change,
            idempotency_key,
            display=events.display_message(event_id, center.center_id, change),
            window=self.settings.eta_window,
            since=now - RECENT_SERVICE,
            requester=remote[0] if remote else None,
            client=remote[1] if remote else None,
        )
        view = self._estimate(ticket, facts)
        await self._publish(conn, center, replace(change, ticket=ticket), view, event_id)
        return view

    async def _replay(self, conn: asyncpg.Connection, earlier: Ticket, line: Line) -> TicketView:
        """The ticket a repeated request already produced; no new change, no new event."""
        if earlier.issued_line_code != line.code:
            raise Conflict(
                f"this Idempotency-Key was used for a ticket on line {earlier.issued_line_code!r}"
            )
        return replace(await self.place(conn, earlier), replayed=True)

    # ----------------------------------------------------------- counters

    async def open_counter(
        self,
        center_id: str,
        counter_id: str,
        *,
        clerk_id: str | None,
        line_codes: Sequence[str] | None = None,
    ) -> None:
        center = self.directory.center(center_id)
        lines = center.lines_for_counter(center.counter(counter_id), line_codes)
        async with self.db.unit_of_work() as conn:
            now = self.clock()
            if not await repo.open_counter(conn, center_id, counter_id, lines, clerk_id, now):
                raise Conflict(f"counter {counter_id!r} is already open")
            payload = catalog.CounterOpened(
                counter_id=counter_id, line_codes=lines, clerk_id=clerk_id
            )
            await self._emit(conn, center, payload, now, counter_id=counter_id, line_codes=lines)

    async def close_counter(self, center_id: str, counter_id: str) -> None:
        center = self.directory.center(center_id)
        center.counter(counter_id)
        async with self.db.unit_of_work() as conn:
            await self._lock_free_counter(
                conn, center_id, counter_id, closed=f"counter {counter_id!r} is already closed"
            )
            now = self.clock()
            await repo.close_counter(conn, center_id, counter_id, now)
            payload = catalog.CounterClosed(counter_id=counter_id)
            await self._emit(conn, center, payload, now, counter_id=counter_id)

    async def call_next(self, center_id: str, counter_id: str) -> TicketView | None:
        """Call the next ticket to a counter; ``None`` when nobody waits on its lines."""
        center = self.directory.center(center_id)
        center.counter(counter_id)
        async with self.db.unit_of_work() as conn:
            # The counter row lock serialises this counter's calls; SKIP LOCKED on the
            # tickets keeps concurrent counters from ever taking the same one.
            state = await self._lock_free_counter(
                conn,
                center_id,
                counter_id,
                closed=f"counter {counter_id!r} is closed; open it before calling",
            )
            now = self.clock()
            heads = await repo.waiting_heads(
                conn, center_id, center.local_day(now), state.line_codes
            )
            chosen = domain.select_next(
                heads,
                streak=state.priority_streak,
                max_priority_in_row=self.settings.max_priority_in_row,
                now=now,
            )
            if chosen is None:
                return None
            if chosen.streak != state.priority_streak:
                await repo.set_priority_streak(conn, center_id, counter_id, chosen.streak)
            # Remote tickets this call went past while their citizen was not here yet
            # start their grace time (``remote.py``).
            await repo.mark_skipped(
                conn, center_id, center.local_day(now), state.line_codes, chosen.ticket, now
            )
            return await self.apply(conn, center, domain.call(chosen.ticket, counter_id, now))

    # ------------------------------------------------- a ticket at a counter

    async def recall(self, center_id: str, counter_id: str, ticket_id: uuid.UUID) -> TicketView:
        """Call again; past the allowed number of calls the ticket becomes a no-show."""
        max_calls = self.settings.max_calls
        return await self._at_counter(
            center_id,
            counter_id,
            ticket_id,
            lambda t, now: domain.recall(t, counter_id, now, max_calls),
        )

    async def no_show(self, center_id: str, counter_id: str, ticket_id: uuid.UUID) -> TicketView:
        return await self._at_counter(
            center_id, counter_id, ticket_id, lambda t, now: domain.mark_no_show(t, counter_id, now)
        )

    async def start(self, center_id: str, counter_id: str, ticket_id: uuid.UUID) -> TicketView:
        return await self._at_counter(
            center_id, counter_id, ticket_id, lambda t, now: domain.start(t, counter_id, now)
        )

    async def finish(
        self,
        center_id: str,
        counter_id: str,
        ticket_id: uuid.UUID,
        dossier_id: uuid.UUID | None = None,
    ) -> TicketView:
        return await self._at_counter(
            center_id,
            counter_id,
            ticket_id,
            lambda t, now: domain.finish(t, counter_id, now, dossier_id),
        )

    async def transfer(
        self, center_id: str, counter_id: str, ticket_id: uuid.UUID, line_code: str
    ) -> TicketView:
        to = self.directory.center(center_id).line(line_code)
        return await self._at_counter(
            center_id, counter_id, ticket_id, lambda t, now: domain.transfer(t, counter_id, to, now)
        )

    # -------------------------------------------------- a ticket of a center

    async def cancel(
        self, center_id: str, ticket_id: uuid.UUID, reason: str | None = None
    ) -> TicketView:
        center = self.directory.center(center_id)
        async with self.db.unit_of_work() as conn:
            ticket = await repo.lock_ticket(conn, center_id, ticket_id)
            change = domain.cancel(ticket, self.clock())
            return await self.apply(conn, center, change, reason=reason)

    async def requeue(self, center_id: str, ticket_id: uuid.UUID) -> TicketView:
        """A no-show whose citizen came back the same day joins the queue again."""
        center = self.directory.center(center_id)
        async with self.db.unit_of_work() as conn:
            ticket = await repo.lock_ticket(conn, center_id, ticket_id)
            now = self.clock()
            change = domain.requeue(ticket, now, center.local_day(now))
            return await self.apply(conn, center, change)

    # ------------------------------------------------------------ plumbing

    async def _lock_free_counter(
        self, conn: asyncpg.Connection, center_id: str, counter_id: str, *, closed: str
    ) -> domain.CounterState:
        """Lock an open counter that holds no ticket; ``closed`` is the refusal when it
        is not open (closing it again and calling to it say different things)."""
        state = await repo.lock_counter(conn, center_id, counter_id)
        if state is None or not state.is_open:
            raise Conflict(closed)
        busy = await repo.active_ticket_at(conn, center_id, counter_id)
        if busy is not None:
            raise Conflict(
                f"counter {counter_id!r} still holds ticket {busy.number}; "
                "finish, transfer or mark it no-show first"
            )
        return state

    async def _at_counter(
        self,
        center_id: str,
        counter_id: str,
        ticket_id: uuid.UUID,
        transition: Callable[[Ticket, datetime], Change],
    ) -> TicketView:
        center = self.directory.center(center_id)
        center.counter(counter_id)
        async with self.db.unit_of_work() as conn:
            ticket = await repo.lock_ticket(conn, center_id, ticket_id)
            return await self.apply(conn, center, transition(ticket, self.clock()))

    async def apply(
        self, conn: asyncpg.Connection, center: Center, change: Change, *, reason: str | None = None
    ) -> TicketView:
        """Store one ticket change and publish its event, in the caller's transaction."""
        event_id = uuid.uuid4()
        display = events.display_message(event_id, center.center_id, change)
        await repo.save_change(conn, center.center_id, center.local_day(change.at), change, display)
        view = await self.place(conn, change.ticket)
        await self._publish(conn, center, change, view, event_id, reason=reason)
        return view

    async def place(self, conn: asyncpg.Connection, ticket: Ticket) -> TicketView:
        """The ticket with its position and estimated wait: live while waiting, 0 once called."""
        if ticket.status == domain.Status.CALLED:
            return TicketView(ticket, 0, 0)
        if ticket.status != domain.Status.WAITING:
            return TicketView(ticket)
        facts = await repo.queue_facts(
            conn, ticket.ticket_id, self.settings.eta_window, since=self.clock() - RECENT_SERVICE
        )
        return self._estimate(ticket, facts)

    def _estimate(self, ticket: Ticket, facts: repo.QueueFacts) -> TicketView:
        line = self.directory.center(ticket.center_id).line(ticket.line_code)
        eta = domain.estimate_wait_seconds(
            facts.position,
            facts.open_counters,
            facts.recent_service_seconds,
            line.default_service_seconds,
        )
        return TicketView(ticket, facts.position, eta)

    async def _publish(
        self,
        conn: asyncpg.Connection,
        center: Center,
        change: Change,
        view: TicketView,
        event_id: uuid.UUID,
        *,
        reason: str | None = None,
    ) -> None:
        """The one outbox event of a ticket change; its id was announced to the displays."""
        payload = events.ticket_payload(
            change, view.position, view.estimated_wait_seconds, reason=reason
        )
        event = new_event(
            payload,
            center_id=center.center_id,
            producer=PRODUCER,
            correlation_id=ticket_correlation(view.ticket.ticket_id),  # one chain per ticket
            occurred_at=change.at,
            event_id=event_id,
        )
        await outbox.add(conn, event)

    async def _emit(
        self,
        conn: asyncpg.Connection,
        center: Center,
        payload: Payload,
        at: datetime,
        **display: Any,
    ) -> None:
        """Outbox event and display notification of a counter change."""
        event = new_event(payload, center_id=center.center_id, producer=PRODUCER, occurred_at=at)
        await outbox.add(conn, event)
        await repo.notify_display(conn, events.counter_display(event, **display))

    def _seal(self, contact: ContactInput | None, ticket_id: uuid.UUID) -> dict[str, Any] | None:
        if contact is None:
            return None
        keys = self.settings.contact_keyring(crypto.BUS)
        return events.seal_contact(keys, contact.kind, contact.value, contact.language, ticket_id)
