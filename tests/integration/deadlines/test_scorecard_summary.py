"""The scorecard's daily summary (migration 0008) against the direct count from the
clocks, after events consumed out of order and twice, a letter, a rating and files: the
same counts, for a center and the province, at several "now"s; and the same summary rows
as a rebuild from scratch."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg

from motcua.services.deadlines.repository import scorecard as sql
from motcua.shared.events import new_event
from motcua.shared.events.catalog import FeedbackReceived
from motcua.shared.events.topics import NOTIFICATIONS
from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.integration.deadlines.test_satisfaction import applied, publish
from tests.integration.deadlines.test_scorecard import attached, online
from tests.support.clock import vn

SUMMARY_TABLES = ("scorecard_days", "scorecard_procedure_days")


async def summary_rows(conn: asyncpg.Connection, center: str) -> dict[str, list[Any]]:
    return {
        table: [
            tuple(r)
            for r in await conn.fetch(
                f"SELECT * FROM {table} WHERE center_id = $1 ORDER BY 1, 2, 3", center
            )
        ]
        for table in SUMMARY_TABLES
    }


async def test_the_summary_counts_what_the_clocks_count(service: Service) -> None:
    center = f"sum-{uuid.uuid4().hex[:6]}"
    mon = vn(2026, 3, 2, 9)
    d1, d2, d3, d4, d5 = (Dossier(center_id=center, procedure_code="HT-KS") for _ in range(5))
    d6 = Dossier(center_id=center, procedure_code="CT-BANSAO")
    events = [
        d1.resolved(vn(2026, 3, 3, 9)),  # its closure before its receipt
        online(d1.received(mon)),
        attached(d1, "result"),
        d2.received(mon),
        d2.supplement_provided(vn(2026, 3, 3, 10)),  # the answer before the request
        d2.supplement_requested(vn(2026, 3, 3, 9)),
        d2.supplement_requested(vn(2026, 3, 4, 9)),
        d2.supplement_provided(vn(2026, 3, 4, 10)),
        d2.resolved(vn(2026, 3, 5, 9)),
        d3.received(mon),
        d3.resolved(vn(2026, 3, 12, 9)),  # late
        attached(d4, "component", digitised=True, reused=True),
        d4.received(vn(2026, 3, 3, 16)),  # running
        d5.received(vn(2026, 3, 4, 9)),
        d5.supplement_requested(vn(2026, 3, 4, 10)),  # paused: ends at the request
        d6.received(vn(2026, 3, 31, 16)),  # the period's last day, running
        d6.withdrawn(vn(2026, 4, 1, 9)),
    ]
    await service.produce(*events)
    # Delivered again (no second effect), then a last event on the same keys, so that the
    # counts are read after the copies were consumed.
    markers = [d.assigned(vn(2026, 3, 3, 10), "can-bo-1") for d in (d1, d2)]
    await service.produce(*events[:6], *markers)
    rating = new_event(
        FeedbackReceived(dossier_id=d3.dossier_id, rating=2, on_date=date(2026, 3, 13)),
        center_id=center,
        producer="notify",
    )
    await publish(service, NOTIFICATIONS.topic(service.settings.kafka.topic_prefix), rating)
    await applied(service, *events, *markers, rating)
    await service.db.execute(
        """INSERT INTO apology_letters (letter_id, dossier_id, center_id, dossier_code,
               procedure_code, received_at, due_at, new_appointment_at)
           VALUES ($1, $2, $3, $4, 'HT-KS', $5, $6, $7)""",
        uuid.uuid4(), d3.dossier_id, center, d3.code, mon, vn(2026, 3, 5, 9), vn(2026, 3, 12, 9),
    )  # fmt: skip

    lo, hi = vn(2026, 3, 1, 0), vn(2026, 4, 1, 0)
    assert sql.summary_days(lo, hi) == (date(2026, 3, 1), date(2026, 4, 1))
    for now in (vn(2026, 3, 3, 8), vn(2026, 3, 20, 9), vn(2026, 6, 1, 9)):
        for scope in (center, None):
            summed = await sql.counts_by_center(service.db, lo, hi, scope, now)
            direct = await sql.counted_from_clocks(service.db, lo, hi, scope, now)
            assert summed == direct, (now, scope)
        assert summed[center].received == 6
        assert summed[center].overdue_with_letter == 1
    for scope in (center, None):
        assert await sql.handling_by_procedure(
            service.db, lo, hi, scope
        ) == await sql.handling_from_clocks(service.db, lo, hi, scope)
    # A window that is not whole local days is counted from the clocks.
    assert sql.summary_days(lo + timedelta(hours=1), hi) is None

    # Kept change by change and folded, the summary is what a rebuild from scratch makes.
    # (The scheduler may be folding at that moment: then its fold takes them.)
    await service.db.execute("SELECT scorecard_fold()")
    await service.db.execute("SELECT pg_advisory_lock(hashtext('deadlines.scorecard_fold'))")
    await service.db.execute("SELECT pg_advisory_unlock(hashtext('deadlines.scorecard_fold'))")
    assert not await service.db.fetchval(
        "SELECT count(*) FROM scorecard_changes WHERE center_id = $1", center
    )
    kept = await summary_rows(service.db, center)
    assert kept["scorecard_days"]
    tx = service.db.transaction()
    await tx.start()
    try:
        await service.db.execute("SELECT scorecard_rebuild()")
        assert await summary_rows(service.db, center) == kept
    finally:
        await tx.rollback()
