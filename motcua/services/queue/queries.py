"""The queue's read side: ticket status, waiting lists, the display board, daily statistics.

Reads run in a read-only REPEATABLE READ transaction, so a board or a waiting
list is one consistent snapshot even while counters keep calling.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import date

import asyncpg

from motcua.services.queue import domain, statistics
from motcua.services.queue.board import Board, CounterBoard, assemble
from motcua.services.queue.errors import NotFound
from motcua.services.queue.repository import reads
from motcua.services.queue.usecases import RECENT_SERVICE, QueueService, TicketView


class QueueQueries:
    """Read models over the queue's tables; they never change state."""

    def __init__(self, service: QueueService) -> None:
        self.service = service

    def snapshot(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """One consistent view of the queue, however many statements read it."""
        return self.service.db.unit_of_work(readonly=True, isolation="repeatable_read")

    async def ticket_by_code(self, lookup_code: str) -> TicketView:
        """Public status of one ticket, by the code printed on it."""
        async with self.snapshot() as conn:
            ticket = await reads.ticket_by_lookup(conn, lookup_code)
            if ticket is None:
                raise NotFound("ticket lookup code", lookup_code)
            return await self.service.place(conn, ticket)

    async def waiting(self, center_id: str) -> list[TicketView]:
        """Today's waiting tickets, each with its position and estimated wait."""
        center = self.service.directory.center(center_id)
        now = self.service.clock()
        window = self.service.settings.eta_window
        async with self.snapshot() as conn:
            rows = await reads.waiting_tickets(conn, center_id, center.local_day(now))
            states = await reads.counter_states(conn, center_id)
            recent = await reads.recent_service(conn, center_id, window, since=now - RECENT_SERVICE)
        views = []
        for ticket, position in rows:
            line = center.line(ticket.line_code)
            open_counters = sum(1 for s in states if s.is_open and line.code in s.line_codes)
            eta = domain.estimate_wait_seconds(
                position, open_counters, recent.get(line.code, ()), line.default_service_seconds
            )
            views.append(TicketView(ticket, position, eta))
        return views

    async def tickets_today(
        self, center_id: str, status: domain.Status | None = None
    ) -> list[TicketView]:
        """Today's tickets for the clerks (to find a no-show to re-queue, for instance)."""
        center = self.service.directory.center(center_id)
        day = center.local_day(self.service.clock())
        async with self.snapshot() as conn:
            tickets = await reads.tickets_of_day(conn, center_id, day, status)
            return [await self.service.place(conn, t) for t in tickets]

    async def board(self, center_id: str) -> Board:
        center = self.service.directory.center(center_id)
        now = self.service.clock()
        settings = self.service.settings
        day = center.local_day(now)
        async with self.snapshot() as conn:
            states = await reads.counter_states(conn, center_id)
            active = await reads.active_tickets(conn, center_id)
            calls = await reads.last_calls(conn, center_id, day, settings.display_last_called)
            loads = await reads.waiting_load(conn, center_id, day)
            recent = await reads.recent_service(
                conn, center_id, settings.eta_window, since=now - RECENT_SERVICE
            )
        return assemble(
            center, at=now, states=states, active=active, calls=calls, loads=loads, recent=recent
        )

    async def counters(self, center_id: str) -> list[CounterBoard]:
        return (await self.board(center_id)).counters

    async def wait_distribution(
        self, center_id: str, day: date | None = None
    ) -> statistics.WaitingHistogram:
        """The day's waiting-time distribution (today by default), aggregate only."""
        center = self.service.directory.center(center_id)
        day = day or center.local_day(self.service.clock())
        async with self.snapshot() as conn:
            entries = await reads.log_entries(conn, center_id, day)
            booked = await reads.appointments_by_status(conn, center_id, day)
        figures = statistics.appointment_figures(booked, entries)
        return statistics.waiting_histogram(center_id, day, entries, figures)

    async def daily_stats(self, center_id: str, day: date | None = None) -> statistics.DailyStats:
        """Statistics of one local day (today by default) per line and per counter."""
        center = self.service.directory.center(center_id)
        day = day or center.local_day(self.service.clock())
        async with self.snapshot() as conn:
            entries = await reads.log_entries(conn, center_id, day)
        return statistics.daily_stats(center, day, entries)
