"""The clock store on a real PostgreSQL: events in any order, the scheduler's batches,
exactly-once flags across concurrent schedulers and crashed transactions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from motcua.services.deadlines import queries, usecases
from motcua.services.deadlines.domain import Extension
from motcua.services.deadlines.errors import Conflict, InvalidInput
from motcua.services.deadlines.scheduler import fire_due
from motcua.services.deadlines.usecases import Calendars
from motcua.shared.calendar import TimeUnit
from tests.integration.deadlines.support import (
    POLICY,
    Dossier,
    apply,
    kinds_of,
    migrate,
    only,
    outbox_events,
)
from tests.support.clock import vn

# Received Monday 2 March 2026 09:00, 3 working days: due Thursday 5 March 17:00;
# warnings at Thursday 07:30 (1 day left) and 09:18 (80% used).
MONDAY = vn(2026, 3, 2, 9)
DUE = vn(2026, 3, 5, 17)


async def fire(conn: asyncpg.Connection, now_local: object, limit: int = 500) -> int:
    async with conn.transaction():
        return await fire_due(conn, now_local, limit=limit)  # type: ignore[arg-type]


async def test_receipt_sets_the_deadline_once(conn: asyncpg.Connection) -> None:
    d = Dossier()
    received = d.received(MONDAY)
    await apply(conn, received)
    await apply(conn, received)  # the inbox stops this; even so, no second flag
    events = await outbox_events(conn)
    assert kinds_of(events, d) == ["set"]
    assert events[0]["data"]["due_at"] == DUE.isoformat().replace("+07:00", "Z").replace(
        "T17", "T10"
    )
    assert events[0]["causation_id"] == str(received.event_id)
    row = await conn.fetchrow("SELECT due_at, next_fire_at FROM clocks")
    assert row["due_at"] == DUE
    assert row["next_fire_at"] == vn(2026, 3, 5, 7, 30)


async def test_supplement_provided_before_requested_gives_the_in_order_clock(
    conn: asyncpg.Connection,
) -> None:
    in_order, out_of_order = Dossier(), Dossier()
    for d in (in_order, out_of_order):
        await apply(conn, d.received(MONDAY))
    await apply(conn, in_order.supplement_requested(vn(2026, 3, 3, 10)))
    await apply(conn, in_order.supplement_provided(vn(2026, 3, 4, 10)))
    # A retry delivered "provided" first: nothing to close yet, so the clock stays.
    await apply(conn, out_of_order.supplement_provided(vn(2026, 3, 4, 10)))
    assert kinds_of(await outbox_events(conn), out_of_order) == ["set"]
    await apply(conn, out_of_order.supplement_requested(vn(2026, 3, 3, 10)))

    dues = {
        r["dossier_id"]: r["due_at"]
        for r in await conn.fetch("SELECT dossier_id, due_at FROM clocks")
    }
    assert dues[in_order.dossier_id] == dues[out_of_order.dossier_id] == vn(2026, 3, 6, 17)
    events = await outbox_events(conn)
    assert kinds_of(events, out_of_order) == ["set", "updated"]
    updated = only(
        events,
        lambda e: (
            e["event_type"] == "deadline.updated"
            and e["data"]["dossier_id"] == str(out_of_order.dossier_id)
        ),
    )
    assert updated["data"]["reason"] == "pause"
    assert updated["data"]["previous_due_at"] == "2026-03-05T10:00:00Z"


async def test_events_before_the_receipt_are_kept_until_it_arrives(
    conn: asyncpg.Connection,
) -> None:
    d = Dossier()
    await apply(conn, d.assigned(vn(2026, 3, 2, 10), "officer-7"), d.resolved(vn(2026, 3, 5, 10)))
    assert kinds_of(await outbox_events(conn), d) == []
    await apply(conn, d.received(MONDAY))
    events = await outbox_events(conn)
    assert kinds_of(events, d) == ["set", "closed"]
    closed = only(events, lambda e: e["event_type"] == "deadline.closed")
    assert closed["data"]["outcome"] == "on_time"
    row = await conn.fetchrow("SELECT assignee, next_fire_at, closed_kind FROM clocks")
    assert (row["assignee"], row["next_fire_at"], row["closed_kind"]) == (
        "officer-7",
        None,
        "resolved",
    )


async def test_flags_fire_once_each_as_time_passes(conn: asyncpg.Connection) -> None:
    d = Dossier()
    await apply(conn, d.received(MONDAY))
    assert await fire(conn, vn(2026, 3, 5, 7, 29)) == 0
    assert await fire(conn, vn(2026, 3, 5, 8)) == 1
    assert kinds_of(await outbox_events(conn), d) == ["set", "approaching:1d"]
    await fire(conn, vn(2026, 3, 5, 8))  # nothing new is due
    await fire(conn, vn(2026, 3, 5, 9, 18))
    await fire(conn, vn(2026, 3, 5, 17, 0, 1))
    await fire(conn, vn(2026, 3, 9, 12))
    events = await outbox_events(conn)
    assert kinds_of(events, d) == ["set", "approaching:1d", "approaching:80%", "overdue"]
    approaching = only(events, lambda e: e["data"].get("threshold") == "80%")
    assert approaching["data"]["working_seconds_left"] == 20_520
    assert approaching["occurred_at"] == "2026-03-05T02:18:00Z"
    overdue = only(events, lambda e: e["event_type"] == "deadline.overdue")
    assert overdue["data"]["new_appointment_at"] == "2026-03-09T10:00:00Z"  # Mon 17:00
    letter = await queries.apology_letter(conn, d.dossier_id, center_names={})
    assert str(letter.letter_id) == overdue["data"]["apology_letter_id"]
    assert await conn.fetchval("SELECT next_fire_at FROM clocks") is None
    # Every flag recorded once, with the id of the event that carried it.
    flags = await conn.fetch("SELECT kind, event_id FROM flags ORDER BY emitted_at")
    assert {str(f["event_id"]) for f in flags} == {e["event_id"] for e in events}


async def test_resolution_after_overdue_with_an_earlier_business_time_closes_on_time(
    conn: asyncpg.Connection,
) -> None:
    """The overdue flag went out on processing time; the resolution, delayed in transit,
    happened Thursday 16:00. deadline.closed says on_time and the statistics agree."""
    d = Dossier()
    await apply(conn, d.received(MONDAY))
    await fire(conn, vn(2026, 3, 6, 9))
    assert kinds_of(await outbox_events(conn), d)[-1] == "overdue"
    await apply(conn, d.resolved(vn(2026, 3, 5, 16)))
    events = await outbox_events(conn)
    assert kinds_of(events, d) == ["set", "approaching:1d", "approaching:80%", "overdue", "closed"]
    closed = only(events, lambda e: e["event_type"] == "deadline.closed")
    assert (closed["data"]["outcome"], closed["data"]["working_seconds_late"]) == ("on_time", 0)
    assert await conn.fetchval("SELECT outcome FROM clocks") == "on_time"


async def test_late_resolution_reports_the_working_time_late(conn: asyncpg.Connection) -> None:
    d = Dossier()
    await apply(conn, d.received(MONDAY), d.resolved(vn(2026, 3, 6, 9)))
    closed = only(await outbox_events(conn), lambda e: e["event_type"] == "deadline.closed")
    assert (closed["data"]["outcome"], closed["data"]["working_seconds_late"]) == ("late", 5_400)


async def test_pause_moves_due_and_rearms_the_flags_for_the_new_date(
    conn: asyncpg.Connection,
) -> None:
    d = Dossier()
    await apply(conn, d.received(MONDAY))
    await fire(conn, vn(2026, 3, 5, 8))  # "1 day left" went out for Thursday 17:00
    await apply(conn, d.supplement_requested(vn(2026, 3, 5, 8)))
    assert await conn.fetchval("SELECT next_fire_at FROM clocks") is None  # paused
    await fire(conn, vn(2026, 3, 9, 8))  # nothing fires while paused, however late
    await apply(conn, d.supplement_provided(vn(2026, 3, 9, 8)))
    # Paused Thu 08:00 -> Mon 08:00: 7h + 7h30 + 30 min = 15h; Thu 17:00 + 15h = Mon 17:00.
    assert await conn.fetchval("SELECT due_at FROM clocks") == vn(2026, 3, 9, 17)
    await fire(conn, vn(2026, 3, 9, 17, 1))
    events = await outbox_events(conn)
    assert kinds_of(events, d) == [
        "set",
        "approaching:1d",
        "updated",
        "approaching:1d",  # re-armed for the new due date
        "approaching:80%",
        "overdue",
    ]
    due_dates = [e["data"]["due_at"] for e in events if e["event_type"] != "deadline.set"]
    assert due_dates[0] == "2026-03-05T10:00:00Z"
    assert set(due_dates[1:]) == {"2026-03-09T10:00:00Z"}


async def test_extension_moves_due_and_is_idempotent(conn: asyncpg.Connection) -> None:
    d = Dossier()
    await apply(conn, d.received(MONDAY))
    cals = Calendars()
    ext = Extension(2, TimeUnit.WORKING_DAYS, vn(2026, 3, 4, 9), "xác minh")
    ext_id = uuid.uuid4()
    for _ in range(2):
        async with conn.transaction():
            row = await usecases.clock_of(conn, d.dossier_id, lock=True)
            clock = await usecases.grant_extension(
                conn, row, ext_id, ext, calendars=cals, policy=POLICY
            )
        assert clock.due_at == vn(2026, 3, 9, 17)
    events = await outbox_events(conn)
    assert kinds_of(events, d) == ["set", "updated"]
    assert events[-1]["data"]["reason"] == "extension"

    other = Dossier()
    await apply(conn, other.received(MONDAY))
    async with conn.transaction():
        row = await usecases.clock_of(conn, other.dossier_id, lock=True)
        with pytest.raises(Conflict):  # the same extension id on another dossier
            await usecases.grant_extension(conn, row, ext_id, ext, calendars=cals, policy=POLICY)
    bad = Extension(1, TimeUnit.WORKING_DAYS, vn(2026, 3, 1), "trước khi tiếp nhận")
    async with conn.transaction():
        row = await usecases.clock_of(conn, other.dossier_id, lock=True)
        with pytest.raises(InvalidInput):
            await usecases.grant_extension(
                conn, row, uuid.uuid4(), bad, calendars=cals, policy=POLICY
            )
    await apply(conn, other.resolved(vn(2026, 3, 3, 9)))
    async with conn.transaction():
        row = await usecases.clock_of(conn, other.dossier_id, lock=True)
        with pytest.raises(Conflict):  # the clock has stopped
            await usecases.grant_extension(
                conn, row, uuid.uuid4(), ext, calendars=cals, policy=POLICY
            )


async def test_center_calendar_change_recomputes_open_clocks(conn: asyncpg.Connection) -> None:
    d, closed = Dossier(), Dossier()
    await apply(
        conn, d.received(MONDAY), closed.received(MONDAY), closed.resolved(vn(2026, 3, 5, 9))
    )
    cals = Calendars()
    async with conn.transaction():
        version, recomputed = await usecases.set_center_calendar(
            conn,
            "nam-cuong",
            "Trung tâm Phục vụ hành chính công phường Nam Cường",
            {"extra_days_off": ["2026-03-04"]},
            calendars=cals,
            policy=POLICY,
            now=vn(2026, 3, 2, 10),
        )
    assert (version, recomputed) == (1, 1)
    dues = dict(await conn.fetch("SELECT dossier_id, due_at FROM clocks"))
    assert dues[d.dossier_id] == vn(2026, 3, 6, 17)  # Wednesday is off now
    assert dues[closed.dossier_id] == DUE  # a closed clock keeps its outcome
    updated = only(await outbox_events(conn), lambda e: e["event_type"] == "deadline.updated")
    assert updated["data"]["reason"] == "correction"
    async with conn.transaction():
        with pytest.raises(InvalidInput) as exc:
            await usecases.set_center_calendar(
                conn,
                "nam-cuong",
                None,
                {"weekly_sessions": {"sat": [["12:00", "08:00"]]}},
                calendars=cals,
                policy=POLICY,
                now=vn(2026, 3, 2, 10),
            )
    assert exc.value.field == "weekly_sessions.sat[0]"


async def test_worklist_overdue_first_then_least_time_left(conn: asyncpg.Connection) -> None:
    late, soon, later, paused, done = (Dossier() for _ in range(5))
    await apply(
        conn,
        late.received(vn(2026, 2, 26, 9)),  # due Tue 3 March 17:00
        soon.received(MONDAY, amount=2),  # due Wed 17:00
        later.received(MONDAY),  # due Thu 17:00
        # Due Mon 2 March but paused since Thu 26 Feb with 21 h left: it keeps those 21 h.
        paused.received(vn(2026, 2, 25, 9)),
        paused.supplement_requested(vn(2026, 2, 26, 9)),
        done.received(MONDAY),
        done.resolved(vn(2026, 3, 3, 8)),
        soon.assigned(vn(2026, 3, 2, 10), "officer-2", "tư pháp"),
    )
    items = await queries.worklist(
        conn, "nam-cuong", vn(2026, 3, 4, 9), calendars=Calendars(), limit=10
    )
    assert [i.clock.dossier_id for i in items] == [
        late.dossier_id,
        soon.dossier_id,
        later.dossier_id,
        paused.dossier_id,
    ]
    assert [i.overdue for i in items] == [True, False, False, False]
    assert items[0].working_seconds_left == -int(timedelta(hours=1.5).total_seconds())
    assert (items[1].clock.assignee, items[1].clock.department) == ("officer-2", "tư pháp")
    assert queries.step_label(items[1].clock.status) == "Đang xử lý (processing)"
    assert items[3].paused
    assert items[3].working_seconds_left == 21 * 3600


async def test_crashed_batch_loses_no_flag(conn: asyncpg.Connection) -> None:
    dossiers = [Dossier() for _ in range(3)]
    await apply(conn, *(d.received(vn(2026, 3, 2, 9)) for d in dossiers))
    tx = conn.transaction()
    await tx.start()
    assert await fire_due(conn, vn(2026, 3, 9), limit=500) == 3
    await tx.rollback()  # the process died before commit
    assert await conn.fetchval("SELECT count(*) FROM flags WHERE kind = 'overdue'") == 0
    await fire(conn, vn(2026, 3, 9))
    assert await conn.fetchval("SELECT count(*) FROM flags WHERE kind = 'overdue'") == 3


async def test_two_schedulers_on_one_database_emit_each_flag_once(
    conn: asyncpg.Connection, database_url: str
) -> None:
    dossiers = [Dossier() for _ in range(400)]
    for start in range(0, 400, 100):
        await apply(conn, *(d.received(MONDAY) for d in dossiers[start : start + 100]))
    instances = [await asyncpg.connect(database_url) for _ in range(2)]
    claimed = [0, 0]
    try:
        for c in instances:
            await migrate(c)  # sets the search path

        async def scheduler(i: int) -> None:
            # Small batches, so the two instances interleave many times.
            while (n := await fire(instances[i], vn(2026, 3, 9), limit=25)) > 0:
                claimed[i] += n

        await asyncio.gather(scheduler(0), scheduler(1))
    finally:
        for c in instances:
            await c.close()
    assert all(claimed), claimed  # both instances did part of the work
    flags = await conn.fetch("SELECT kind, count(*) FROM flags GROUP BY kind ORDER BY kind")
    assert [tuple(f) for f in flags] == [
        ("approaching:1d", 400),
        ("approaching:80%", 400),
        ("overdue", 400),
        ("set", 400),
    ]
    events = await outbox_events(conn)
    assert len(events) == 1_600
    assert len({e["event_id"] for e in events}) == 1_600
    assert await conn.fetchval("SELECT count(*) FROM apology_letters") == 400
