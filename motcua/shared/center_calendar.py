"""Per-center working calendars: the packaged default configuration plus a center's overrides.

One piece for every service that needs a center's calendar: the registry validates a
center's overrides with it, intake prints the receipt's appointment with it and deadlines
runs the legal clock on it, so the receipt and the clock cannot disagree.

A center may add extra days off (a local holiday, a move), make-up working days, or change
its office sessions (e.g. Saturday mornings). Overrides are plain data, merged onto the
default configuration and validated by building the calendar, so a bad override is refused
with the calendar's own message naming the field. Merge rules:

* ``extra_days_off``, ``make_up_working_days`` and ``not_holidays`` add to the default
  lists. A date a center lists as a day off stops being a make-up day, and the other way
  round: the center's own decision wins over the national swap.
* ``weekly_sessions`` replaces only the weekdays it names.
* ``make_up_day_sessions`` and ``rollover_cutoff`` replace the default.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Any

from motcua.shared.calendar import CalendarError, WorkingCalendar

OVERRIDE_KEYS = frozenset(
    {
        "weekly_sessions",
        "make_up_day_sessions",
        "rollover_cutoff",
        "make_up_working_days",
        "extra_days_off",
        "not_holidays",
    }
)
_DATE_LISTS = ("make_up_working_days", "extra_days_off", "not_holidays")


@functools.cache
def default_config() -> Mapping[str, Any]:
    """The packaged national configuration (read once, on first use)."""
    text = resources.files("motcua.shared.data").joinpath("calendar_vn.json").read_text("utf-8")
    config: dict[str, Any] = json.loads(text)
    return config


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with a center's ``overrides`` applied (see the module docstring)."""
    unknown = sorted(set(overrides) - OVERRIDE_KEYS)
    if unknown:
        raise CalendarError(f"unknown calendar override(s): {', '.join(unknown)}")
    merged = dict(base)
    if "weekly_sessions" in overrides:
        merged["weekly_sessions"] = {
            **dict(base.get("weekly_sessions", {})),
            **dict(overrides["weekly_sessions"]),
        }
    for key in ("make_up_day_sessions", "rollover_cutoff"):
        if key in overrides:
            merged[key] = overrides[key]
    added = {key: [str(d) for d in overrides.get(key, [])] for key in _DATE_LISTS}
    for key in _DATE_LISTS:
        merged[key] = [*_dates_of(base.get(key, [])), *added[key]]
    # The center's own decision wins over the national list on the same date.
    merged["make_up_working_days"] = [
        d for d in merged["make_up_working_days"] if d not in set(added["extra_days_off"])
    ]
    merged["extra_days_off"] = [
        d for d in merged["extra_days_off"] if d not in set(added["make_up_working_days"])
    ]
    return merged


def _dates_of(items: Any) -> list[str]:
    # The packaged file lists dates as strings or as {"date": ..., "source": ...} notes.
    return [str(i["date"]) if isinstance(i, Mapping) else str(i) for i in items]


def build(overrides: Mapping[str, Any] | None) -> WorkingCalendar:
    """The calendar of a center with these overrides; ``CalendarError`` names a bad field."""
    if not overrides:
        return WorkingCalendar.default()
    return WorkingCalendar.from_config(merge(default_config(), overrides))


def normalise(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides in storable JSON form (dates as ISO strings, empty keys dropped)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None or value == [] or value == {}:
            continue
        if key in _DATE_LISTS:
            out[key] = sorted({v.isoformat() if isinstance(v, date) else str(v) for v in value})
        elif key in ("weekly_sessions",):
            out[key] = {
                day: [list(map(str, s)) for s in sessions] for day, sessions in value.items()
            }
        elif key == "make_up_day_sessions":
            out[key] = [list(map(str, s)) for s in value]
        else:
            out[key] = value
    return out
