"""Parsing and validation of working-calendar configuration.

The configuration is plain data (the shape of ``motcua/shared/data/calendar_vn.json``) so that an
operator can replace the government's yearly announcements without a code change::

    {
      "timezone": "Asia/Ho_Chi_Minh",
      "holiday_country": "VN",
      "weekly_sessions": {"mon": [["07:30", "11:30"], ["13:30", "17:00"]], ..., "sun": []},
      "make_up_day_sessions": [["07:30", "11:30"], ["13:30", "17:00"]],
      "rollover_cutoff": "15:00",
      "make_up_working_days": ["2025-04-26", {"date": "2026-01-10", "source": "..."}],
      "extra_days_off": [{"date": "2026-01-02", "source": "..."}],
      "not_holidays": []
    }

Every key is optional; a missing key takes the default shown in ``DEFAULTS``. A weekday
missing from ``weekly_sessions`` has no sessions. Date lists accept ISO strings or objects
with a ``date`` key (other keys in such objects are notes and are ignored). Keys named
``description`` or starting with ``_`` are ignored too; any other unknown key is an error, so
that a typo does not silently fall back to a default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULTS", "WEEKDAYS", "CalendarConfig", "CalendarError", "Session", "parse_config"]


class CalendarError(ValueError):
    """Invalid calendar input: a naive datetime, a bad limit or a bad configuration."""


Session = tuple[time, time]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_OFFICE_DAY: list[list[str]] = [["07:30", "11:30"], ["13:30", "17:00"]]
DEFAULTS: Mapping[str, Any] = {
    "timezone": "Asia/Ho_Chi_Minh",
    "holiday_country": "VN",
    "weekly_sessions": {
        **{day: _OFFICE_DAY for day in WEEKDAYS[:5]},
        "sat": [],
        "sun": [],
    },
    "rollover_cutoff": "15:00",
    "make_up_working_days": [],
    "extra_days_off": [],
    "not_holidays": [],
}
_KNOWN_KEYS = frozenset(DEFAULTS) | {"make_up_day_sessions"}
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class CalendarConfig:
    """Validated configuration. ``weekly_sessions`` is indexed by ``date.weekday()``."""

    tz: ZoneInfo
    holiday_country: str
    weekly_sessions: tuple[tuple[Session, ...], ...]
    make_up_day_sessions: tuple[Session, ...]
    rollover_cutoff: time
    make_up_working_days: frozenset[date]
    extra_days_off: frozenset[date]
    not_holidays: frozenset[date]


def parse_config(cfg: Mapping[str, Any]) -> CalendarConfig:
    """Validate ``cfg`` and fill defaults; raise :class:`CalendarError` naming the bad field."""
    if not isinstance(cfg, Mapping):
        raise CalendarError(f"calendar config must be a JSON object, got {type(cfg).__name__}")
    unknown = sorted(
        k for k in cfg if k not in _KNOWN_KEYS and k != "description" and not k.startswith("_")
    )
    if unknown:
        raise CalendarError(f"unknown calendar config key(s): {', '.join(unknown)}")
    merged = {**DEFAULTS, **cfg}

    tz_name = merged["timezone"]
    try:
        tz = ZoneInfo(_expect(tz_name, str, "timezone"))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"timezone: unknown time zone {tz_name!r}") from exc

    weekly_raw = _expect(merged["weekly_sessions"], Mapping, "weekly_sessions")
    bad_days = sorted(set(weekly_raw) - set(WEEKDAYS))
    if bad_days:
        raise CalendarError(f"weekly_sessions: unknown weekday(s) {bad_days}; use {WEEKDAYS}")
    weekly = tuple(_sessions(weekly_raw.get(day, []), f"weekly_sessions.{day}") for day in WEEKDAYS)
    if not any(weekly):
        raise CalendarError("weekly_sessions: at least one weekday must have office sessions")

    # A make-up day replaces a normal weekday, so by default it gets Monday's office hours.
    make_up_raw = merged.get("make_up_day_sessions")
    make_up_sessions = (
        weekly[0] if make_up_raw is None else _sessions(make_up_raw, "make_up_day_sessions")
    )

    make_up = _dates(merged["make_up_working_days"], "make_up_working_days")
    days_off = _dates(merged["extra_days_off"], "extra_days_off")
    clash = sorted(make_up & days_off)
    if clash:
        raise CalendarError(
            f"dates listed both as make-up working days and extra days off: {clash}"
        )
    if make_up and not make_up_sessions:
        raise CalendarError("make_up_day_sessions: empty, but make-up working days are listed")

    return CalendarConfig(
        tz=tz,
        holiday_country=_expect(merged["holiday_country"], str, "holiday_country"),
        weekly_sessions=weekly,
        make_up_day_sessions=make_up_sessions,
        rollover_cutoff=_time(merged["rollover_cutoff"], "rollover_cutoff"),
        make_up_working_days=make_up,
        extra_days_off=days_off,
        not_holidays=_dates(merged["not_holidays"], "not_holidays"),
    )


def _expect(value: Any, kind: type[Any], field: str) -> Any:
    if not isinstance(value, kind):
        raise CalendarError(f"{field}: expected {kind.__name__}, got {value!r}")
    return value


def _time(value: Any, field: str) -> time:
    m = _TIME_RE.match(_expect(value, str, field))
    if m is None:
        raise CalendarError(f"{field}: expected 'HH:MM' or 'HH:MM:SS', got {value!r}")
    return time(int(m[1]), int(m[2]), int(m[3] or 0))


def _sessions(value: Any, field: str) -> tuple[Session, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CalendarError(f"{field}: expected a list of [start, end] pairs, got {value!r}")
    out: list[Session] = []
    for i, pair in enumerate(value):
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise CalendarError(f"{field}[{i}]: expected [start, end], got {pair!r}")
        start, end = _time(pair[0], f"{field}[{i}][0]"), _time(pair[1], f"{field}[{i}][1]")
        if start >= end:
            raise CalendarError(f"{field}[{i}]: session must start before it ends: {pair!r}")
        if out and start < out[-1][1]:
            raise CalendarError(f"{field}[{i}]: sessions must be in order and not overlap")
        out.append((start, end))
    return tuple(out)


def _dates(value: Any, field: str) -> frozenset[date]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CalendarError(f"{field}: expected a list of dates, got {value!r}")
    out: set[date] = set()
    for i, item in enumerate(value):
        raw = item.get("date") if isinstance(item, Mapping) else item
        try:
            out.add(date.fromisoformat(_expect(raw, str, f"{field}[{i}]")))
        except ValueError as exc:
            raise CalendarError(f"{field}[{i}]: expected an ISO date, got {raw!r}") from exc
    return frozenset(out)
