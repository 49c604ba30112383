"""``motcua report on-time``: the on-time statistics, printed from the deadlines database.

    motcua report on-time --center C --from 2025-07-01 --to 2025-11-27 [--as-of T]
                          [--database-url URL] [--format table|csv|json]

``--all-centers`` replaces ``--center`` for the figures of every center. ``--as-of`` takes
an ISO date or datetime (without an offset, the office's time zone); by default the report
is as of the end of the period, or now if that is earlier. The same figures are served at
``GET /v1/statistics/on-time``.

    motcua report score766 --center C | --province --from DATE --to DATE
                           [--database-url URL] [--format table|csv|json]

prints the 766 scorecard (docs/score766.md) of one center, or of the province with every
center beside it, as ``GET /v1/reports/score766`` serves it. The province's centers are
the ones with dossiers in the period (the registry's list is the service's, not the
database's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from motcua.services.deadlines import queries
from motcua.services.deadlines.errors import DeadlinesError
from motcua.services.deadlines.scorecard import Comparison, Scorecard, check_period
from motcua.services.deadlines.statistics import OnTimeReport, ReportQuery
from motcua.services.deadlines.usecases import Calendars
from motcua.shared.db import UNAVAILABLE
from motcua.shared.settings import DatabaseSettings

SCHEMA = "deadlines"


def _instant(text: str) -> datetime:
    """An ISO datetime, or a date meaning the end of that day (local when no offset)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text) + timedelta(days=1), time())
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {text!r}") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _report_arguments(report: argparse.ArgumentParser) -> None:
    """What every report takes: its period, the database, the output's format."""
    report.add_argument(
        "--from", dest="start", required=True, type=_date, metavar="DATE", help="first day"
    )
    report.add_argument(
        "--to", dest="end", required=True, type=_date, metavar="DATE", help="last day"
    )
    report.add_argument(
        "--database-url", help="PostgreSQL URL (default: DATABASE_URL or the dev database)"
    )
    report.add_argument("--format", choices=["table", "csv", "json"], default="table")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="motcua report", description="Reports of motcua.")
    sub = root.add_subparsers(dest="report", required=True)
    on_time = sub.add_parser(
        "on-time",
        help="received, resolved early / on time / late, withdrawn, in progress",
        description="On-time statistics of the dossiers received in a period, as of an "
        "instant, in total, by procedure and by service line.",
    )
    scope = on_time.add_mutually_exclusive_group(required=True)
    scope.add_argument("--center", help="the center's id")
    scope.add_argument("--all-centers", action="store_true", help="every center together")
    _report_arguments(on_time)
    on_time.add_argument(
        "--as-of",
        type=_instant,
        metavar="T",
        help="ISO date (its end) or datetime, local time when no offset; "
        "default: the period's end, or now if earlier",
    )
    score = sub.add_parser(
        "score766",
        help="the 766 scorecard of a center or of the province",
        description="The indicators of Decision 766/QĐ-TTg motcua computes, for the dossiers "
        "received in a period (at most a year), and those it does not hold.",
    )
    where = score.add_mutually_exclusive_group(required=True)
    where.add_argument("--center", help="the center's id")
    where.add_argument("--province", action="store_true", help="every center, and their sum")
    _report_arguments(score)
    return root


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    url = args.database_url or DatabaseSettings().url
    calendars = Calendars()
    try:
        if args.report == "score766":
            found = asyncio.run(_scorecard(url, args, calendars))
            sys.stdout.write(_render_scorecard(found, args.format))
            return 0
        query = ReportQuery.build(
            center_id=None if args.all_centers else args.center,
            start=args.start,
            end=args.end,
            as_of=args.as_of,
            now=datetime.now(UTC),
            tz=calendars.default.tz,
            calendar=calendars.default,
        )
        report = asyncio.run(_report(url, query, calendars))
    except DeadlinesError as exc:
        print(f"motcua report: {exc}", file=sys.stderr)
        return 2
    except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
        print(f"motcua report: cannot read the deadlines database: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(report, args.format))
    return 0


def render(report: OnTimeReport, fmt: str) -> str:
    if fmt == "csv":
        return report.to_csv()
    if fmt == "json":
        return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
    return report.to_table()


def _render_scorecard(found: Scorecard | Comparison, fmt: str) -> str:
    if fmt == "csv":
        return found.to_csv()
    if fmt == "json":
        return json.dumps(found.to_json(), ensure_ascii=False, indent=2) + "\n"
    return found.to_table()


async def _scorecard(
    url: str, args: argparse.Namespace, calendars: Calendars
) -> Scorecard | Comparison:
    now = datetime.now(UTC)
    query = ReportQuery.build(
        center_id=args.center,
        start=args.start,
        end=args.end,
        as_of=None,
        now=now,
        tz=calendars.default.tz,
        calendar=calendars.default,
    )
    check_period(args.start, args.end)
    conn = await asyncpg.connect(url, server_settings={"search_path": f'"{SCHEMA}",public'})
    try:
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            if args.province:
                return await queries.province_scorecard(conn, query, now, [], {})
            return await queries.center_scorecard(conn, query, now, registered=False)
    finally:
        await conn.close()


async def _report(url: str, query: ReportQuery, calendars: Calendars) -> OnTimeReport:
    conn = await asyncpg.connect(url, server_settings={"search_path": f'"{SCHEMA}",public'})
    try:
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            return await queries.on_time_report(conn, query, calendars=calendars)
    finally:
        await conn.close()
