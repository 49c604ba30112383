"""The use cases of remote tickets: take one from a phone, confirm arrival, expire.

Each runs in one transaction with its outbox event, like every ticket change
(``usecases.QueueService`` issues and applies them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from motcua.services.queue import domain, remote
from motcua.services.queue.booking import default_calendar
from motcua.services.queue.errors import Unknown
from motcua.services.queue.repository import tickets as repo
from motcua.services.queue.usecases import ContactInput, QueueService, TicketView
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.runtime import UnitsOfWork


class RemoteTickets:
    def __init__(
        self,
        db: UnitsOfWork,
        tickets: QueueService,
        secret: bytes,
        calendar: Callable[[str], WorkingCalendar] = default_calendar,
    ) -> None:
        self.db = db
        self.tickets = tickets
        self.secret = secret  # derives the door codes and the limits' digests
        self.calendar = calendar

    def door_code(self, center_id: str) -> str:
        """Today's code for the QR on the center's door and on the kiosk's screen."""
        self.tickets.directory.center(center_id)
        day = self.calendar(center_id).local_date(self.tickets.clock())
        return remote.door_code(self.secret, center_id, day)

    async def take(
        self,
        center_id: str,
        line_code: str,
        contact: ContactInput,
        client: str,
        *,
        idempotency_key: str | None = None,
    ) -> TicketView:
        """A number for today, inside the opening window and the day's limits."""
        self.tickets.directory.center(center_id).line(line_code)
        rules = self.tickets.settings.remote_rules(center_id)
        calendar = self.calendar(center_id)
        requester = remote.digest(self.secret, "phone", contact.value)
        address = remote.digest(self.secret, "client", client)

        async def admit(conn: asyncpg.Connection, now: datetime) -> tuple[str, str]:
            today = remote.check_open(calendar, now, rules)
            # Racing requests of one phone or one address wait for each other, so the
            # counts below include the winner's ticket (phone first, then address, in
            # every request: no two can wait for each other in a circle).
            await repo.lock_requesters(conn, requester, address)
            taken = await repo.remote_taken(conn, center_id, today, requester, address)
            remote.check_limits(*taken, rules, remote.seconds_to_midnight(calendar, now))
            return requester, address

        return await self.tickets.issue(
            center_id, line_code, contact=contact, idempotency_key=idempotency_key, admit=admit
        )

    async def confirm_arrival(self, center_id: str, lookup_code: str, door: str) -> TicketView:
        """The citizen is here (today's door code proves it): the ticket can be called.
        Confirming again changes nothing."""
        center = self.tickets.directory.center(center_id)
        async with self.db.unit_of_work() as conn:
            ticket = await repo.lock_by_lookup_code(conn, lookup_code)
            if ticket is None or ticket.center_id != center_id:
                raise Unknown("lookup_code", "ticket_unknown")
            now = self.tickets.clock()
            remote.check_door(self.secret, center_id, center.local_day(now), door)
            if ticket.arrived_at is not None:
                return await self.tickets.place(conn, ticket)
            return await self.tickets.apply(conn, center, domain.confirm_arrival(ticket, now))

    async def expire_unconfirmed(self, conn: asyncpg.Connection, batch: int = 200) -> int:
        """Remote tickets skipped past their center's grace time: no-shows. Runs on its
        own (``app.py``); SKIP LOCKED lets replicas share it."""
        async with conn.transaction():
            now = self.tickets.clock()
            expired = 0
            for t, skipped in await repo.lock_skipped_remote(conn, now, batch):
                rules = self.tickets.settings.remote_rules(t.center_id)
                if skipped >= remote.skipped_before(now, rules):
                    continue  # still within its grace time
                center = self.tickets.directory.center(t.center_id)
                await self.tickets.apply(conn, center, domain.expire_unconfirmed(t, now))
                expired += 1
            return expired
