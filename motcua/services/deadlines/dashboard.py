"""What the leaders' dashboard shows: the on-time table, the worklist and the weekly
on-time chart, worded in the page's language. Its page is ``pages``'.

``GET /dashboard?center=&from=&to=&as_of=`` shows, for the dossiers received in the period
(the current month by default), the figures in the center's own terms (received, resolved
on time or early, late, withdrawn, in progress within the deadline or overdue, the on-time
rate) in total, by service line and by procedure; beside the rate, the citizens' satisfaction
(the ratings given in the period) and the dossiers asked for supplements more than once;
the rate per week of receipt as an inline SVG chart; the open dossiers that are
overdue or due within a working day, as of now; and the center's 766 scorecard
(``standings``).
Every figure comes from the same queries as the JSON API, in one read-only snapshot. The
header names the center by the name stored with its calendar, else the configured one
(``MOTCUA_DEADLINES_CENTER_NAMES``), else its id. Service lines and procedures are named,
not coded: a line by the shared reference list, a procedure by the name its receipts
carried (its code only where neither knows it, e.g. a province's own line).
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup

from motcua.services.deadlines import charts, queries, risks, timeline
from motcua.services.deadlines.flags import regular_day
from motcua.services.deadlines.satisfaction import Ratings
from motcua.services.deadlines.scorecard import Scorecard
from motcua.services.deadlines.sign_in import PATH
from motcua.services.deadlines.statistics import OnTimeReport, ReportQuery, Tally
from motcua.services.deadlines.supplements import SupplementTally
from motcua.services.deadlines.timeline import Timeline
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.logging import get_logger
from motcua.shared.reference.lines import service_lines
from motcua.shared.reference.statuses import portal_statuses
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.web import Lang, catalog, with_lang

log = get_logger(__name__)

TEXT = catalog("motcua.services.deadlines")

MAX_WEEKS = 26
WORKLIST_SHOWN = 100
AT_RISK_SHOWN = 20
REFRESH_SECONDS = 30


# --------------------------------------------------------------- pure helpers


class BadPeriod(ValueError):
    """A period parameter that cannot be read; ``field`` names it."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def month_of(day: date) -> tuple[date, date]:
    # By the month's length, not the next month's first day: December 9999 has none.
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def parse_period(
    start: str, end: str, as_of: str, today: date
) -> tuple[date, date, datetime | None]:
    """The period's first and last local dates and its instant. A missing end defaults to
    the end of the start's month, a missing start to the start of the end's month, both to
    the current month. ``as_of`` is an ISO datetime (local when naive) or a date, meaning
    the end of that day."""
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        raise BadPeriod("from") from None
    try:
        last = date.fromisoformat(end) if end else None
    except ValueError:
        raise BadPeriod("to") from None
    if first is None:
        first = month_of(last or today)[0]
    if last is None:
        last = month_of(first)[1]
    instant = None
    if as_of:
        try:
            if len(as_of) == 10:
                instant = datetime.combine(date.fromisoformat(as_of) + timedelta(days=1), time())
            else:
                instant = datetime.fromisoformat(as_of)
        except ValueError:
            raise BadPeriod("as_of") from None
    return first, last, instant


def weeks(start: date, end: date, until: date, limit: int = MAX_WEEKS) -> list[tuple[date, date]]:
    """The period cut at Mondays into weeks (the first and last may be partial), up to the
    week holding ``until``; the last ``limit`` of them."""
    out: list[tuple[date, date]] = []
    day = start
    while day <= min(end, until):
        sunday = day + timedelta(days=6 - day.weekday())
        out.append((day, min(sunday, end)))
        day = sunday + timedelta(days=1)
    return out[-limit:]


def number(n: int, lang: Lang) -> str:
    """``3.510`` in Vietnamese, ``3,510`` in English."""
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "vi" else text


def percent(rate: float | None, lang: Lang) -> str:
    if rate is None:
        return "–"
    text = f"{rate * 100:.1f}%"
    return text.replace(".", ",") if lang == "vi" else text


def working_time(seconds: int, day_seconds: int, lang: Lang) -> str:
    """A signed working time as regular working days, hours and minutes (sign dropped)."""
    days, rest = divmod(abs(seconds), max(day_seconds, 1))
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    t = TEXT.translator(lang)
    parts = [
        t("time.day" if days == 1 else "time.days", n=days) if days else "",
        t("time.hours", n=hours) if hours else "",
        t("time.minutes", n=minutes) if minutes or not (days or hours) else "",
    ]
    return " ".join(p for p in parts if p)


# ------------------------------------------------------------------ dashboard


@dataclass(frozen=True)
class Snapshot:
    """Everything the dashboard shows, read in one transaction."""

    center_name: str
    procedure_names: dict[str, tuple[str, str | None]]
    report: OnTimeReport
    satisfaction: Ratings
    supplements: SupplementTally
    weekly: list[tuple[date, date, Tally]]
    worklist: list[queries.WorkItem]
    day_seconds: int
    now: datetime
    at_risk: tuple[risks.Assessed, ...] | None = None  # None: not the reader's to see
    scorecard: Scorecard | None = None


async def snapshot(
    d: Deadlines,
    runtime: ServiceRuntime,
    query: ReportQuery,
    now: datetime,
    *,
    with_risks: bool = False,
) -> Snapshot:
    """The report, its weekly cohorts and the worklist, from one read-only snapshot."""
    center = query.center_id
    assert center is not None
    async with (
        runtime.pool.acquire() as conn,
        conn.transaction(readonly=True, isolation="repeatable_read"),
    ):
        # The period and its weeks in one pass: a report per week read the cohort again
        # for each (six times a month, most of the page's time, bench/province.py).
        report, weekly = await queries.on_time_report_by_week(
            conn,
            query,
            weeks(query.start, query.end, query.as_of.astimezone(query.tz).date()),
            calendars=d.calendars,
        )
        rated = await queries.satisfaction_report(conn, center, query.start, query.end)
        supplements = (await queries.supplement_report(conn, query)).total
        items = await queries.worklist(
            conn, center, now, calendars=d.calendars, limit=d.settings.worklist_max
        )
        cal = await d.calendars.of(conn, center)
        stored = await queries.center_calendar(conn, center)
        at_risk = None
        if with_risks:
            assessed, _ = await risks.assess_center(conn, center, now, cal, d.forecast)
            at_risk = tuple(assessed[:AT_RISK_SHOWN])
        names = await queries.procedure_names(conn, center)
        card = await queries.center_scorecard(conn, query, now, registered=True)
    return Snapshot(
        center_name=queries.center_name(
            center, stored.name if stored else None, d.settings.center_names
        )
        or center,
        procedure_names=names,
        report=report,
        satisfaction=rated.total,
        supplements=supplements,
        weekly=weekly,
        worklist=items,
        day_seconds=int(regular_day(cal).total_seconds()),
        now=now,
        at_risk=at_risk,
        scorecard=card,
    )


# ------------------------------------------------------------- page context


def _figures(tally: Tally, lang: Lang) -> dict[str, Any]:
    values = {
        "received": tally.received,
        "on_time": tally.on_time,
        "early": tally.resolved_early,
        "late": tally.resolved_late,
        "withdrawn": tally.withdrawn,
        "in_progress": tally.in_progress,
        "within": tally.in_progress_within,
        "overdue": tally.in_progress_overdue,
    }
    rate = tally.on_time_rate
    return {
        "counts": values,
        "text": {k: number(v, lang) for k, v in values.items()},
        "rate": rate,
        "rate_text": percent(rate, lang),
    }


def satisfaction(ratings: Ratings, lang: Lang) -> dict[str, Any]:
    """The average score ("4,6/5") and the share satisfied, with how many ratings."""
    average, rate = ratings.average, ratings.satisfied_rate
    shown = "–" if average is None else f"{average:.1f}/5"
    return {
        "count": ratings.count,
        "count_text": number(ratings.count, lang),
        "average": average,
        "average_text": shown.replace(".", ",") if lang == "vi" else shown,
        "rate_text": percent(rate, lang),
    }


def headline(tally: Tally, lang: Lang) -> str:
    """The center's own sentence, e.g. "3.510 hồ sơ tiếp nhận, 3.450 giải quyết đúng hạn
    và trước hạn, 60 đang giải quyết." Late and withdrawn appear only when non-zero."""
    f = _figures(tally, lang)["text"]
    t = TEXT.translator(lang)
    parts = [t("headline.received", n=f["received"]), t("headline.on_time", n=f["on_time"])]
    if tally.resolved_late:
        parts.append(t("headline.late", n=f["late"]))
    if tally.withdrawn:
        parts.append(t("headline.withdrawn", n=f["withdrawn"]))
    progress = t("headline.in_progress", n=f["in_progress"])
    if tally.in_progress_overdue:
        progress += t("headline.overdue", n=f["overdue"])
    return ", ".join([*parts, progress]) + "."


def weekly_chart(weekly: Sequence[tuple[date, date, Tally]], lang: Lang) -> str:
    t = TEXT.translator(lang)
    bars = []
    for first, last, tally in weekly:
        rate = tally.on_time_rate
        span = f"{first:%d/%m}–{last:%d/%m}"
        detail = (
            t(
                "chart.week_on_time",
                span=span,
                on_time=number(tally.on_time, lang),
                resolved=number(tally.resolved, lang),
            )
            if tally.resolved
            else t("chart.week_empty", span=span)
        )
        bars.append(charts.Bar(f"{first:%d/%m}", None if rate is None else rate * 100, detail))
    return charts.bar_chart(
        bars,
        title=t("chart.title"),
        description=t("chart.description"),
        x_label=t("chart.x_label"),
        y_label=t("chart.y_label"),
        format_value=lambda v: f"{v:.0f}%" if v == int(v) else percent(v / 100, lang),
        chart_id="chart-on-time-weekly",
    )


def _work_rows(snap: Snapshot, lang: Lang, tz: Any) -> tuple[list[dict[str, Any]], int, int]:
    rows: list[dict[str, Any]] = []
    overdue = near = 0
    for item in snap.worklist:
        if item.overdue:
            state, overdue = "overdue", overdue + 1
        elif item.working_seconds_left <= snap.day_seconds:
            state, near = "near_due", near + 1
        else:
            continue
        if len(rows) >= WORKLIST_SHOWN:
            continue
        c = item.clock
        left = working_time(item.working_seconds_left, snap.day_seconds, lang)
        rows.append(
            {
                "code": c.dossier_code,
                "timeline_url": f"{PATH}/dossiers/{c.dossier_id}/timeline",
                "letter_url": f"{PATH}/dossiers/{c.dossier_id}/apology-letter",
                "procedure": procedure_name(snap.procedure_names, c.procedure_code, lang),
                "line": line_name(c.line_code, lang) or c.line_code or "–",
                "step": _step(c.status, lang),
                "officer": " · ".join(p for p in (c.assignee, c.department) if p) or "–",
                "due": f"{item.due_at.astimezone(tz):%H:%M %d/%m/%Y}",
                "due_iso": item.due_at.isoformat(),
                "state": state,
                "left": TEXT.text(
                    lang, "worklist.overdue_by" if item.overdue else "worklist.left", left=left
                ),
                "seconds_left": item.working_seconds_left,
                "paused": item.paused,
            }
        )
    return rows, overdue, near


def _risk_rows(snap: Snapshot, lang: Lang, tz: Any) -> list[dict[str, Any]] | None:
    """The forecast's ranked list, as the leader reads it: chance, time left, reason."""
    if snap.at_risk is None:
        return None
    rows = []
    for a in snap.at_risk:
        r = a.risk
        left = working_time(r.working_seconds_left, snap.day_seconds, lang)
        rows.append(
            {
                "code": a.clock.dossier_code,
                "procedure": procedure_name(snap.procedure_names, a.clock.procedure_code, lang),
                "officer": a.clock.assignee or "–",
                "due": f"{a.clock.due_at.astimezone(tz):%H:%M %d/%m/%Y}",
                "due_iso": a.clock.due_at.isoformat(),
                "percent": f"{r.probability * 100:.0f}%",
                "probability": f"{r.probability:.4f}",
                "left": TEXT.text(
                    lang,
                    "worklist.overdue_by" if r.working_seconds_left < 0 else "worklist.left",
                    left=left,
                ),
                "reason": TEXT.text(lang, f"risk.reason.{r.reason.value}"),
                "reason_key": r.reason.value,
            }
        )
    return rows


def line_name(code: str | None, lang: Lang) -> str | None:
    """A service line's name in the shared reference list; None for a line it lacks."""
    line = service_lines().get(code) if code else None
    return None if line is None else (line.name.vi if lang == "vi" else line.name.en)


def procedure_name(names: dict[str, tuple[str, str | None]], code: str, lang: Lang) -> str:
    """A procedure's name as its receipts carried it (Vietnamese when no English was
    given), else its code."""
    known = names.get(code)
    if known is None:
        return code
    vi, en = known
    return en if lang == "en" and en else vi


@functools.cache
def _steps() -> dict[int, dict[str, str]]:
    """The portal's status names in both languages (the one table the worklist API uses)."""
    return {s.code: {"vi": s.name.vi, "en": s.name.en} for s in portal_statuses().statuses}


def _step(status: int | None, lang: Lang) -> str:
    if status is None:
        return "–"
    names = _steps().get(status)
    return names[lang] if names else str(status)


def context(snap: Snapshot, query: ReportQuery, lang: Lang, *, live: bool) -> dict[str, Any]:
    report, tz = snap.report, query.tz
    no_line = TEXT.text(lang, "no_line")
    rows, overdue, near = _work_rows(snap, lang, tz)
    return {
        "center_id": query.center_id,
        "center_name": snap.center_name,
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "period_text": f"{query.start:%d/%m/%Y} – {query.end:%d/%m/%Y}",
        "as_of_input": f"{query.as_of.astimezone(tz):%Y-%m-%dT%H:%M}" if not live else "",
        "as_of_local": f"{query.as_of.astimezone(tz):%H:%M %d/%m/%Y}",
        "now_local": f"{snap.now.astimezone(tz):%H:%M:%S %d/%m/%Y}",
        "live": live,
        "refresh_ms": REFRESH_SECONDS * 1000,
        "headline": headline(report.total, lang),
        "total": _figures(report.total, lang),
        "satisfaction": satisfaction(snap.satisfaction, lang),
        "repeated_supplements": snap.supplements.repeated,
        "repeated_supplements_text": number(snap.supplements.repeated, lang),
        "with_supplement_text": number(snap.supplements.with_supplement, lang),
        "by_line": [
            (line_name(key, lang) or key or no_line, key, _figures(v, lang))
            for key, v in report.by_line.items()
        ],
        "by_procedure": [
            (procedure_name(snap.procedure_names, key, lang), key, _figures(v, lang))
            for key, v in report.by_procedure.items()
        ],
        "chart": Markup(weekly_chart(snap.weekly, lang)),
        "weeks_capped": len(snap.weekly) >= MAX_WEEKS,
        "worklist": rows,
        "overdue_count": number(overdue, lang),
        "near_count": number(near, lang),
        "open_count": number(len(snap.worklist), lang),
        "worklist_truncated": overdue + near > len(rows),
        "sign_out": with_lang(PATH + "/sign-out", lang),
        "at_risk": _risk_rows(snap, lang, tz),
    }


# ------------------------------------------------------------------- timeline


def timeline_context(found: Timeline, lang: Lang, tz: Any) -> dict[str, Any]:
    """A dossier's timeline worded for its page: local times, event names, details."""
    t = TEXT.translator(lang)

    def local(iso: str) -> str:
        return f"{datetime.fromisoformat(iso).astimezone(tz):%H:%M %d/%m/%Y}"

    rows = [
        {
            "at": f"{e.at.astimezone(tz):%H:%M:%S %d/%m/%Y}",
            "at_iso": e.at.isoformat(),
            "source": e.source,
            "source_text": TEXT.pick(lang, "source", e.source),
            "event_type": e.event_type,
            "what": TEXT.pick(lang, "event", e.event_type),
            "detail": timeline.describe(e, t, local, lambda code: _step(code, lang)),
        }
        for e in found.entries
    ]
    return {
        "dossier_code": found.dossier_code or str(found.dossier_id),
        "center_id": found.center_id,
        "rows": rows,
    }
