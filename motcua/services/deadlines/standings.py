"""The 766 scorecard worded for the pages: the section of a center's dashboard, and the
province's page comparing every center of the registry (sortable, each row a link to
that center's dashboard). The figures are ``scorecard``'s; the page is ``pages``'.

Waiting times at the counters come from the queue's events (``waits``): each center's mean
and 90th-percentile wait over the period, "—" for a center that issued no ticket in it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from motcua.services.deadlines.dashboard import TEXT, number, percent
from motcua.services.deadlines.scorecard import Comparison, Result, Scorecard, Status
from motcua.services.deadlines.sign_in import PATH, PROVINCE_PATH
from motcua.services.deadlines.waits import NO_TICKETS, CenterWaits
from motcua.shared.web import Lang, with_lang

SORTS = (
    "name",
    "received",
    "on_time_rate",
    "overdue",
    "points",
    "satisfaction_rate",
    "mean_wait",
    "p90_wait",
)
"""The columns the province's table sorts by (``?sort=``, ``?order=asc|desc``)."""
DEFAULT_SORT = "on_time_rate"


def _value(r: Result, lang: Lang) -> str:
    if r.rate is None:
        return "–"
    if r.indicator.id == "2.2":
        return TEXT.text(
            lang, "score.days", days=f"{r.rate:.1f}".replace(".", "," if lang == "vi" else ".")
        )
    return percent(r.rate, lang)


def scorecard_section(card: Scorecard, lang: Lang) -> dict[str, Any]:
    """A center's scorecard on its dashboard: the indicators computed, then how many are
    not held (the API and docs/score766.md list them with what they need)."""
    results = card.results
    rows = [
        {
            "id": r.indicator.id,
            "name": r.indicator.name_en if lang == "en" else r.indicator.name_vi,
            "value": _value(r, lang),
            "rate": "" if r.rate is None else f"{r.rate:.4f}",
            "of": "–" if r.denominator is None else number(r.denominator, lang),
            "share": "–" if r.attainment is None else percent(r.attainment, lang),
            "points": "–" if r.points is None else f"{r.points:g}",
        }
        for r in results
        if r.indicator.status is Status.COMPUTED
    ]
    return {
        "rows": rows,
        "not_held": sum(1 for r in results if r.indicator.status is Status.NOT_HELD),
        "points": f"{card.points:g}",
        "points_possible": f"{card.points_possible:g}",
        "empty": card.counts.received == 0,
    }


def _sorted(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[dict[str, Any]]:
    # Centers without a figure (no dossier) go last whichever the order.
    present = [r for r in rows if r[sort] is not None]
    missing = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: (r[sort], r["center_id"]), reverse=descending)
    return present + missing


def _minutes(seconds: float | None, lang: Lang) -> str:
    """A wait in minutes with one decimal, the language's decimal mark; "—" for none."""
    if seconds is None:
        return "—"
    value = f"{seconds / 60:.1f}"
    return TEXT.text(
        lang, "province.minutes", value=value.replace(".", "," if lang == "vi" else ".")
    )


def _waits(w: CenterWaits, lang: Lang) -> dict[str, Any]:
    """A center's waiting-time cells: seconds to sort by, minutes to read."""
    return {
        "mean_wait": w.mean_seconds,
        "p90_wait": w.p90_seconds,
        "mean_wait_text": _minutes(w.mean_seconds, lang),
        "p90_wait_text": _minutes(w.p90_seconds, lang),
        "tickets_called_text": number(w.called, lang),
        "tickets_abandoned_text": number(w.abandoned, lang),
    }


def province_context(
    comparison: Comparison,
    lang: Lang,
    *,
    sort: str,
    descending: bool,
    waits: dict[str, CenterWaits] | None = None,
) -> dict[str, Any]:
    """The province's table, sorted, each center linked to its dashboard for the period;
    ``waits``: each center's waits at the counters, by center."""
    card = comparison.province
    period = {"from": card.start.isoformat(), "to": card.end.isoformat()}
    rows = []
    for r in comparison.rows():
        rows.append(
            {
                **r,
                **_waits((waits or {}).get(r["center_id"], NO_TICKETS), lang),
                "name": r["name"] or r["center_id"],
                "received_text": number(r["received"], lang),
                "on_time_text": percent(r["on_time_rate"], lang),
                "overdue_text": number(r["overdue"], lang),
                "satisfaction_text": percent(r["satisfaction_rate"], lang),
                "ratings_text": number(r["ratings"], lang),
                "points_text": f"{r['points']:g}",
                "url": with_lang(f"{PATH}?{urlencode({'center': r['center_id'], **period})}", lang),
            }
        )
    rows = _sorted(rows, sort, descending)
    headers = []
    for key in SORTS:
        ascending_next = key == sort and descending
        query = {**period, "sort": key, "order": "asc" if ascending_next else "desc"}
        headers.append(
            {
                "key": key,
                "label": TEXT.text(lang, f"province.column.{key}"),
                "url": with_lang(f"{PROVINCE_PATH}?{urlencode(query)}", lang),
                "aria_sort": ("descending" if descending else "ascending") if key == sort else None,
            }
        )
    return {
        "start": card.start.isoformat(),
        "end": card.end.isoformat(),
        "period_text": f"{card.start:%d/%m/%Y} – {card.end:%d/%m/%Y}",
        "rows": rows,
        "headers": headers,
        "sort": sort,
        "province": scorecard_section(card, lang),
        "centers_count": number(len(rows), lang),
    }
