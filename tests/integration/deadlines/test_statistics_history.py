"""On-time statistics over a synthetic history with a known answer, on a real database,
through the same use cases the consumer runs; and the report command's output."""

from __future__ import annotations

import asyncio
import random
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from motcua.services.deadlines import cli, queries
from motcua.services.deadlines.statistics import ReportQuery, Tally
from motcua.services.deadlines.usecases import Calendars
from motcua.shared.calendar import WorkingCalendar
from tests.integration.deadlines.support import Dossier, apply, extend, migrate
from tests.support.clock import VN, vn

CT = {"procedure_code": "CT-BS", "line_code": "A"}  # same day
HT = {"procedure_code": "HT-KS", "line_code": "B"}  # 3 working days
TT = {"procedure_code": "TT-TR", "line_code": None}  # 7 working days


def nc(kind: dict[str, Any]) -> Dossier:
    return Dossier(center_id="nc", **kind)


async def build_october(conn: asyncpg.Connection) -> None:
    """Center "nc" in October 2025; each line says what the dossier is at 1 Nov 00:00."""
    mon27 = vn(2025, 10, 27, 9)
    d = {i: nc(HT) for i in range(3, 15)} | {1: nc(CT), 2: nc(CT), 7: nc(TT), 19: nc(HT)}
    await apply(
        conn,
        d[1].received(vn(2025, 10, 2, 9), amount=0),  # due 2 Oct 17:00
        d[1].resolved(vn(2025, 10, 2, 10)),  # on time
        d[2].received(vn(2025, 10, 2, 15, 30), amount=0, rollover=True),  # due Fri 3 Oct
        d[2].resolved(vn(2025, 10, 2, 16)),  # early
        d[3].received(vn(2025, 10, 6, 9)),  # due Thu 9 Oct 17:00
        d[3].resolved(vn(2025, 10, 8, 10)),  # early
        d[4].received(vn(2025, 10, 6, 9)),
        d[4].resolved(vn(2025, 10, 10, 8)),  # late
        d[5].received(vn(2025, 10, 6, 9)),
        d[5].supplement_provided(vn(2025, 10, 8, 10)),  # (out of order) paused 7h30
        d[5].supplement_requested(vn(2025, 10, 7, 10)),
        d[5].resolved(vn(2025, 10, 10, 10)),  # due Fri 10 Oct 17:00: on time
        d[6].received(vn(2025, 10, 6, 9)),
        d[6].withdrawn(vn(2025, 10, 7, 9)),  # withdrawn
        d[14].received(vn(2025, 10, 20, 9)),
        d[14].stopped(vn(2025, 10, 21, 9)),  # withdrawn (stopped)
        d[7].received(mon27, amount=7),  # due 5 Nov: in progress within
        d[8].received(mon27),  # due Thu 30 Oct 17:00: overdue
        d[9].received(mon27),
        d[9].supplement_requested(vn(2025, 10, 29, 9)),  # paused: within
        d[10].received(mon27),
        d[10].supplement_requested(vn(2025, 10, 28, 9)),
        d[10].supplement_provided(vn(2025, 11, 3, 9)),  # after as_of: still paused then
        d[11].received(mon27),
        d[11].resolved(vn(2025, 11, 3, 9)),  # after as_of: overdue then
        d[12].received(mon27),
        d[13].received(mon27),
        d[19].received(vn(2025, 10, 31, 23, 30)),  # last local day of the period: within
        # Outside the cohort:
        nc(HT).received(vn(2025, 9, 30, 23)),
        nc(HT).received(vn(2025, 11, 1, 0, 30)),
        Dossier(center_id="xx", **HT).received(vn(2025, 10, 6, 9)),  # another center, overdue
        nc(HT).assigned(vn(2025, 10, 6, 9), "officer-1"),  # no receipt (yet)
    )
    await extend(conn, d[12], 3, vn(2025, 10, 29, 9))  # due 4 Nov: within
    await extend(conn, d[13], 3, vn(2025, 11, 3, 9))  # granted after as_of: overdue then


def tally(**counts: int) -> dict[str, Any]:
    t = Tally(**counts)
    return t.as_dict()


async def run(conn: asyncpg.Connection, **kw: Any) -> dict[str, Any]:
    q = ReportQuery.build(
        **({"center_id": "nc", "as_of": None, "now": vn(2026, 1, 1), "tz": VN} | kw)
    )
    return (await queries.on_time_report(conn, q, calendars=Calendars())).to_json()


async def test_synthetic_october_gives_the_known_answer(conn: asyncpg.Connection) -> None:
    await build_october(conn)
    body = await run(conn, start=date(2025, 10, 1), end=date(2025, 10, 31))
    assert body["as_of"] == "2025-10-31T17:00:00+00:00"  # the end of 31 Oct, local
    assert body["total"] == tally(
        resolved_early=2,
        resolved_on_time=2,
        resolved_late=1,
        withdrawn=2,
        in_progress_within=5,
        in_progress_overdue=3,
    )
    assert body["total"]["received"] == 15
    assert body["total"]["on_time_rate"] == pytest.approx(0.8)
    assert {p["procedure_code"]: p for p in body["by_procedure"]} == {
        "CT-BS": {"procedure_code": "CT-BS", **tally(resolved_early=1, resolved_on_time=1)},
        "HT-KS": {
            "procedure_code": "HT-KS",
            **tally(
                resolved_early=1,
                resolved_on_time=1,
                resolved_late=1,
                withdrawn=2,
                in_progress_within=4,
                in_progress_overdue=3,
            ),
        },
        "TT-TR": {"procedure_code": "TT-TR", **tally(in_progress_within=1)},
    }
    assert [(line["line_code"], line["received"]) for line in body["by_line"]] == [
        (None, 1),
        ("A", 2),
        ("B", 12),
    ]
    for group in [body["total"], *body["by_procedure"], *body["by_line"]]:
        assert group["received"] == group["resolved"] + group["withdrawn"] + group["in_progress"]


async def test_history_as_of_an_earlier_instant_and_across_centers(
    conn: asyncpg.Connection,
) -> None:
    await build_october(conn)
    mid = await run(
        conn, start=date(2025, 10, 1), end=date(2025, 10, 31), as_of=vn(2025, 10, 8, 12)
    )
    assert mid["total"] == tally(
        resolved_early=2, resolved_on_time=1, withdrawn=1, in_progress_within=2
    )
    everyone = await run(conn, center_id=None, start=date(2025, 10, 1), end=date(2025, 10, 31))
    assert everyone["total"]["received"] == 16
    assert everyone["total"]["in_progress_overdue"] == 4


async def build_reference_center(
    conn: asyncpg.Connection, database_url: str, cal: WorkingCalendar
) -> None:
    """3,510 dossiers received 1 Jul - 27 Nov 2025: 3,450 resolved on time or early, 60 open
    (received in the last three days with a 7-day limit), plus another center's dossiers."""
    rng = random.Random(2025)
    days = [
        d
        for n in range(150)
        if (d := date(2025, 7, 1) + timedelta(days=n)) <= date(2025, 11, 24)
        and cal.is_working_day(d)
    ]
    events = []
    for i in range(3_450):
        day = rng.choice(days)
        received = datetime(day.year, day.month, day.day, rng.randint(8, 13), tzinfo=VN)
        if i % 3 == 0:  # same-day procedure resolved that afternoon: on time
            d = Dossier(center_id="nam-cuong", **CT)
            events += [d.received(received, amount=0), d.resolved(received.replace(hour=16))]
        else:  # 3-day procedure resolved within the hour: early
            d = Dossier(center_id="nam-cuong", **HT)
            events += [d.received(received), d.resolved(received + timedelta(hours=1))]
    for i in range(60):
        d = Dossier(center_id="nam-cuong", **TT)
        events.append(d.received(vn(2025, 11, 25 + i % 3, 9), amount=7))
    for _ in range(40):
        d = Dossier(center_id="another", **HT)
        events.append(d.received(vn(2025, 8, 4, 9)))
    # Four consumers' worth of connections, each applying its share in batches.
    workers = [conn, *[await asyncpg.connect(database_url) for _ in range(3)]]
    try:
        for w in workers[1:]:
            await migrate(w)

        async def consume(w: asyncpg.Connection, share: list[Any]) -> None:
            for start in range(0, len(share), 500):
                await apply(w, *share[start : start + 500])

        # A dossier's events stay together (and in order), as on a keyed partition.
        pairs = [events[i : i + 2] for i in range(0, 6_900, 2)] + [[e] for e in events[6_900:]]
        shares = [[e for pair in pairs[i::4] for e in pair] for i in range(4)]
        await asyncio.gather(*(consume(w, share) for w, share in zip(workers, shares, strict=True)))
    finally:
        for w in workers[1:]:
            await w.close()


async def test_reference_center_prints_its_published_figures(
    conn: asyncpg.Connection, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await build_reference_center(conn, database_url, WorkingCalendar.default())
    argv = ["on-time", "--center", "nam-cuong", "--from", "2025-07-01", "--to", "2025-11-27"]
    assert await asyncio.to_thread(cli.main, [*argv, "--database-url", database_url]) == 0
    table = capsys.readouterr().out
    assert "3,510 dossiers received, 3,450 resolved on time or early, 60 in progress." in table
    total = next(line for line in table.splitlines() if line.startswith("total"))
    assert total.split() == [
        "total", "all", "3,510", "2,300", "1,150", "0", "0", "60", "0", "100.00%"
    ]  # fmt: skip

    csv_argv = [*argv, "--database-url", database_url, "--format", "csv"]
    assert await asyncio.to_thread(cli.main, csv_argv) == 0
    csv_total = capsys.readouterr().out.splitlines()[1]
    assert csv_total == "total,all,3510,3450,2300,1150,0,3450,0,60,60,0,1.0000"

    # A week later the 60 are still open but now late (due 4-8 Dec): as-of moves the split.
    later_argv = [*argv, "--database-url", database_url, "--as-of", "2025-12-10"]
    assert await asyncio.to_thread(cli.main, later_argv) == 0
    later = capsys.readouterr().out
    assert (
        "3,510 dossiers received, 3,450 resolved on time or early, 60 in progress (60 overdue)."
        in later
    )
