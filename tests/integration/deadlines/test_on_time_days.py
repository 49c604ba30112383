"""The on-time report's daily summary (migration 0008) against a direct count of the
clocks, after the events a consumer meets: out of order, twice, corrected, extended."""

from __future__ import annotations

import asyncpg

from motcua.services.deadlines import queries, repository
from motcua.services.deadlines.statistics import OnTimeReport, ReportQuery
from motcua.services.deadlines.usecases import Calendars
from tests.integration.deadlines.support import Dossier, apply, extend
from tests.support.clock import VN, vn

# What the summary holds, folded or not, without the groups a change took back to zero.
_STORED = """SELECT day, center_id, procedure_code, line_code, sum(resolved_early),
                    sum(resolved_on_time), sum(resolved_late), sum(withdrawn)
             FROM (SELECT * FROM on_time_days UNION ALL SELECT * FROM on_time_day_changes) s
             GROUP BY 1, 2, 3, 4
             HAVING sum(resolved_early) + sum(resolved_on_time) + sum(resolved_late)
                    + sum(withdrawn) > 0
             ORDER BY 1, 2, 3, 4"""


async def direct(conn: asyncpg.Connection, q: ReportQuery) -> OnTimeReport:
    """The report counted from the clocks alone, as before the summary."""
    counts = await queries._direct_counts(conn, q, Calendars())
    return OnTimeReport.from_counts(q, [(p, line, c, n) for _, p, line, c, n in counts])


async def test_summary_agrees_with_the_clocks_after_any_order_of_events(
    conn: asyncpg.Connection,
) -> None:
    late, early, twice, corrected, moved, reopened, running = (
        Dossier(center_id="nc") for _ in range(7)
    )
    other = Dossier(center_id="other", line_code=None)
    received = late.received(vn(2025, 10, 6, 9))  # 3 working days: due Thu 9 Oct 17:00
    resolved = early.resolved(vn(2025, 10, 7, 10))
    await apply(conn, received, received)  # twice: one receipt
    await extend(conn, late, 5, vn(2025, 10, 8, 9))
    await apply(
        conn,
        late.resolved(vn(2025, 10, 13, 9)),  # on time, with the extension
        resolved,  # before its receipt: counted once the receipt is known
        twice.received(vn(2025, 10, 8, 9)),
        twice.resolved(vn(2025, 10, 9, 9)),
        corrected.received(vn(2025, 10, 8, 9)),
        corrected.resolved(vn(2025, 10, 10, 9)),
        moved.received(vn(2025, 10, 14, 9)),
        moved.withdrawn(vn(2025, 10, 20, 9)),
        reopened.received(vn(2025, 10, 15, 9)),
        reopened.resolved(vn(2025, 10, 16, 9)),
        other.received(vn(2025, 10, 15, 9)),
        other.stopped(vn(2025, 10, 16, 9)),
        running.received(vn(2025, 10, 20, 9)),
    )
    await extend(conn, running, 2, vn(2025, 10, 21, 9))  # open and extended: from its facts
    await apply(
        conn,
        early.received(vn(2025, 10, 6, 9)),
        resolved,  # again
        twice.resolved(vn(2025, 10, 9, 9)),  # a second event with the same facts
        corrected.withdrawn(vn(2025, 10, 9, 9)),  # an earlier closure, known later
        moved.received(vn(2025, 10, 16, 9)),  # a later receipt moves it to another day
    )
    # No event reopens a clock today; whatever path does later is kept by the same trigger.
    await conn.execute(
        """UPDATE clocks SET closed_kind = NULL, closed_at = NULL, outcome = NULL
           WHERE dossier_id = $1""",
        reopened.dossier_id,
    )

    stored = [tuple(r) for r in await conn.fetch(_STORED)]
    assert await repository.fold_on_time_days(conn) > 0
    assert await conn.fetchval("SELECT count(*) FROM on_time_day_changes") == 0
    assert stored == [tuple(r) for r in await conn.fetch(_STORED)]
    await conn.execute("SELECT on_time_rebuild()")
    assert stored == [tuple(r) for r in await conn.fetch(_STORED)]
    assert len(stored) == 4, stored  # nc's 6 and 8 October, moved's day, the other center

    # The reports read the summary for the days that are over, and agree with the clocks:
    # after every closure, between closures (a day whose closure is later than the
    # instant is counted from the clocks), and within the period's last day.
    instants = [vn(2025, 11, 1), vn(2025, 10, 12, 12), vn(2025, 10, 31, 15), vn(2026, 1, 1)]
    for center in ("nc", None):
        for as_of in instants:
            q = ReportQuery.build(
                center_id=center,
                start=vn(2025, 10, 1).date(),
                end=vn(2025, 10, 31).date(),
                as_of=as_of,
                now=vn(2026, 1, 1),
                tz=VN,
            )
            summarised = await queries.on_time_report(conn, q, calendars=Calendars())
            assert summarised.to_json() == (await direct(conn, q)).to_json(), (center, as_of)
    q = ReportQuery.build(
        center_id="nc",
        start=vn(2025, 10, 1).date(),
        end=vn(2025, 10, 31).date(),
        as_of=None,
        now=vn(2026, 1, 1),
        tz=VN,
    )
    report = (await queries.on_time_report(conn, q, calendars=Calendars())).total
    assert (report.on_time, report.resolved_late, report.withdrawn, report.in_progress) == (
        3,
        0,
        2,
        2,
    )
    # And those figures were the summary's: every day of the period is over at its end.
    await conn.execute(
        "UPDATE on_time_days SET withdrawn = withdrawn + 100 WHERE day = '2025-10-06'"
    )
    again = (await queries.on_time_report(conn, q, calendars=Calendars())).total
    assert again.withdrawn == report.withdrawn + 100
