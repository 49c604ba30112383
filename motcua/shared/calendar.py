"""The working calendar: pure arithmetic on office time for legal processing time limits.

Definitions used throughout (all in the calendar's time zone, ``Asia/Ho_Chi_Minh`` by default):

* A **working day** is a day that has office sessions in the weekly schedule (Mon-Fri by
  default) or is a listed make-up working day, and that is neither a public holiday of the
  ``holidays`` package's calendar (``VN``: Tết, Hùng Kings, 30/4, 1/5, 2/9 ... and the
  substituted days the package knows) nor a listed extra day off. A public holiday wins over a
  make-up day; ``not_holidays`` in the configuration removes a package holiday.
* **Sessions** are half-open intervals ``[start, end)``; by default 07:30-11:30 and 13:30-17:00.
  A make-up day uses ``make_up_day_sessions`` (by default the Monday sessions).
* A **working instant** is an instant inside a session. The **effective start** of a receipt is
  the first working instant at or after it (before opening, at lunch, after closing or on a
  day off, the clock starts at the next opening). With the 15:00 **rollover**, a receipt whose
  effective start falls at or after the cutoff on its own day counts as received at the first
  opening of the next working day.

The calendar covers the years whose public holidays the ``holidays`` package knows for the
country (``VN``: 1901-2100; the lunar holidays are not computed beyond): a day outside them
raises :class:`CalendarError` rather than be counted as an ordinary weekday. Spans are
measured and walked through per-year running totals, so a limit or a measure across years
costs a few steps per year, not one per day.

All datetimes in and out are timezone-aware; results are in UTC. A naive datetime raises
:class:`CalendarError`. Nothing here does I/O except the explicit loaders (``default`` reads
the packaged data file, ``from_file`` reads the given file).
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from motcua.shared.calendar_config import CalendarConfig, CalendarError, Session, parse_config

__all__ = ["CalendarConfig", "CalendarError", "TimeLimit", "TimeUnit", "WorkingCalendar"]

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_WORK, _DAYS = 0, 1  # the two running totals of a year (see ``_year_totals``)
# Longest run of days off tolerated before a configuration is deemed to have no working days
# (Tết is at most ~9 days); stops an endless search on a broken configuration.
_MAX_DAYS_OFF_RUN = 366


class TimeUnit(StrEnum):
    """The unit a legal processing time limit is counted in (a ``str`` subclass)."""

    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"


@dataclass(frozen=True)
class TimeLimit:
    """A procedure's legal processing time limit.

    ``amount`` is a whole number of working days or working hours, ``>= 0``; ``0`` working days
    means "by the end of the same working day". ``rollover`` applies the 15:00 rule. ``unit``
    may be given as its string value (e.g. from JSON).
    """

    amount: int
    unit: TimeUnit
    rollover: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise CalendarError(f"TimeLimit.amount must be an int >= 0, got {self.amount!r}")
        try:
            object.__setattr__(self, "unit", TimeUnit(self.unit))
        except ValueError as exc:
            units = [u.value for u in TimeUnit]
            raise CalendarError(
                f"TimeLimit.unit must be one of {units}, got {self.unit!r}"
            ) from exc
        if not isinstance(self.rollover, bool):
            raise CalendarError(f"TimeLimit.rollover must be a bool, got {self.rollover!r}")


class WorkingCalendar:
    """An immutable working calendar; see the module docstring for the definitions.

    Build one with :meth:`default`, :meth:`from_config` or :meth:`from_file`. Instances are
    safe to share between threads: the only state that changes is memoisation of holiday
    years, day sessions and yearly running totals, which is idempotent.
    """

    __slots__ = ("_cfg", "_day_sessions", "_holiday_years", "_totals", "_years")

    def __init__(self, config: CalendarConfig) -> None:
        self._cfg = config
        self._years = _known_years(config.holiday_country)
        self._holiday_years: dict[int, frozenset[date]] = {}
        # Per year: running totals of working time and working days, built on first use.
        self._totals: dict[int, tuple[list[int], list[int]]] = {}
        # Bounded so that a long-lived process walking many distinct days stays small.
        self._day_sessions: Callable[[date], tuple[tuple[datetime, datetime], ...]] = (
            functools.lru_cache(maxsize=4096)(self._compute_sessions)
        )

    # -- construction -------------------------------------------------------------------

    @classmethod
    def default(cls) -> WorkingCalendar:
        """The calendar of the packaged ``motcua/shared/data/calendar_vn.json`` (loaded once)."""
        return _default_calendar()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> WorkingCalendar:
        """A calendar from a mapping shaped like the JSON data file (see ``calendar_config``)."""
        return cls(parse_config(cfg))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> WorkingCalendar:
        """A calendar from a JSON file shaped like ``motcua/shared/data/calendar_vn.json``."""
        try:
            with open(path, encoding="utf-8") as fh:
                cfg = json.load(fh)
        except json.JSONDecodeError as exc:
            raise CalendarError(f"{os.fspath(path)}: not valid JSON: {exc}") from exc
        return cls.from_config(cfg)

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's time zone (``Asia/Ho_Chi_Minh`` by default)."""
        return self._cfg.tz

    @property
    def config(self) -> CalendarConfig:
        """The validated configuration this calendar was built from."""
        return self._cfg

    @property
    def years(self) -> tuple[int, int]:
        """The first and last year the calendar covers (those of its holiday data)."""
        return self._years

    def covers(self, when: date | datetime) -> bool:
        """Whether the local date of ``when`` (a date, or an instant; naive means local) is in
        the covered years: the days the calendar can count without raising."""
        if isinstance(when, datetime):
            if when.tzinfo is not None:
                try:
                    when = when.astimezone(self._cfg.tz)
                except OverflowError:
                    return False
            when = when.date()
        return self._years[0] <= when.year <= self._years[1]

    def __repr__(self) -> str:
        return f"WorkingCalendar(tz={self._cfg.tz.key!r}, country={self._cfg.holiday_country!r})"

    # -- days ---------------------------------------------------------------------------

    def is_public_holiday(self, d: date) -> bool:
        """Whether ``d`` is a public holiday (the package's list minus ``not_holidays``)."""
        year = self._holiday_years.get(d.year)
        if year is None:
            self._check_year(d)
            listed = holidays.country_holidays(self._cfg.holiday_country, years=d.year)
            year = frozenset(listed.keys()) - self._cfg.not_holidays
            self._holiday_years[d.year] = year
        return d in year

    def is_working_day(self, d: date) -> bool:
        """Whether the office is open on the local date ``d`` (see the module docstring)."""
        return bool(self._local_sessions(d))

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self._scan(d, _ONE_DAY)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self._scan(d, -_ONE_DAY)

    def working_sessions(self, d: date) -> list[tuple[datetime, datetime]]:
        """The office sessions of local date ``d`` as aware UTC ``[start, end)`` pairs.

        Empty on a day off.
        """
        return list(self._day_sessions(d))

    def local_date(self, t: datetime) -> date:
        """The calendar date of instant ``t`` in the calendar's time zone."""
        return _utc(t, "t").astimezone(self._cfg.tz).date()

    # -- instants -----------------------------------------------------------------------

    def effective_start(self, t: datetime, *, rollover: bool = False) -> datetime:
        """The instant the clock starts for something received at ``t`` (UTC).

        The first working instant at or after ``t``; with ``rollover``, if that instant is on
        ``t``'s own local day at or after the cutoff (15:00), the next working day's opening.
        """
        t = _utc(t, "start")
        d = self._cfg_local_date(t)
        for start, end in self._day_sessions(d):
            if t < end:
                eff = max(t, start)
                break
        else:
            return self._opening(self.next_working_day(d))
        if rollover and eff.astimezone(self._cfg.tz).time() >= self._cfg.rollover_cutoff:
            return self._opening(self.next_working_day(d))
        return eff

    def add_working_days(self, start: datetime, n: int, *, rollover: bool = False) -> datetime:
        """End of the ``n``-th working day after the effective receipt day.

        ``n == 0`` gives the end of the effective receipt day itself (17:00 local by default).
        Received Mon 09:00 with ``n=3`` gives Thu 17:00; received Mon 16:00 with ``rollover``
        and ``n=0`` gives Tue 17:00.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise CalendarError(f"number of working days must be an int >= 0, got {n!r}")
        d = self._cfg_local_date(self.effective_start(start, rollover=rollover))
        if n:
            d = self._reach(d + _ONE_DAY, n, _DAYS)
        return self._day_sessions(d)[-1][1]

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The instant ``hours`` of working time after the effective start of ``start``.

        Walks the sessions to the microsecond. A limit that ends exactly at a session's end
        returns that end (e.g. 17:00), not the next opening. 8 hours from Mon 09:00 is
        Tue 09:30 (6 h remain on Monday); 7.5 hours (one full day) is Tue 09:00.
        """
        amount = _as_timedelta(hours)
        if amount < _ZERO:
            raise CalendarError(f"working hours must be >= 0, got {hours!r}")
        return self._forward(_utc(start, "start"), amount)

    def due_at(self, received_at: datetime, limit: TimeLimit) -> datetime:
        """The due instant (UTC) of a dossier received at ``received_at`` under ``limit``.

        Working days: :meth:`add_working_days`. Working hours: the hours are counted from the
        effective start, with the rollover applied when ``limit.rollover`` is set.
        """
        if limit.unit is TimeUnit.WORKING_DAYS:
            return self.add_working_days(received_at, limit.amount, rollover=limit.rollover)
        start = self.effective_start(received_at, rollover=limit.rollover)
        return self._forward(start, timedelta(hours=limit.amount))

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside sessions between instants ``a`` and ``b``; negative if b < a."""
        a, b = _utc(a, "a"), _utc(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        first, last = self._cfg_local_date(a), self._cfg_local_date(b)
        total = self._overlap(first, a, b)
        if last > first:
            total += self._span(first + _ONE_DAY, last, _WORK) * _MICROSECOND
            total += self._overlap(last, a, b)
        return total

    def extend(self, due: datetime, working_time: timedelta) -> datetime:
        """Move the instant ``due`` by ``working_time`` of working time (UTC result).

        Used for clock pauses: a pause of 2 working hours moves ``due`` 2 working hours later.
        A zero amount returns ``due`` unchanged; a positive amount walks forward like
        :meth:`add_working_hours`, a negative one walks backward (landing on a session start
        when exhausted exactly). ``working_time_between(due, extend(due, w)) == w`` always,
        and ``extend`` is additive for amounts of the same sign.
        """
        due = _utc(due, "due")
        if not isinstance(working_time, timedelta):
            raise CalendarError(f"working_time must be a timedelta, got {working_time!r}")
        if working_time > _ZERO:
            return self._forward(due, working_time)
        if working_time < _ZERO:
            return self._backward(due, -working_time)
        return due

    # -- internals ----------------------------------------------------------------------

    def _cfg_local_date(self, t_utc: datetime) -> date:
        try:
            return t_utc.astimezone(self._cfg.tz).date()
        except OverflowError:  # e.g. 9999-12-31T23:00Z east of Greenwich
            raise CalendarError(
                f"{t_utc.isoformat()} has no local date in {self._cfg.tz.key}"
            ) from None

    def _check_year(self, d: date) -> None:
        if not self.covers(d):
            first, last = self._years
            raise CalendarError(
                f"{d} is outside the years {first}-{last} the calendar covers (the public "
                f"holidays of {self._cfg.holiday_country!r} are known for those only)"
            )

    def _local_sessions(self, d: date) -> tuple[Session, ...]:
        self._check_year(d)
        cfg = self._cfg
        if d in cfg.extra_days_off or self.is_public_holiday(d):
            return ()
        if d in cfg.make_up_working_days:
            return cfg.make_up_day_sessions
        return cfg.weekly_sessions[d.weekday()]

    def _compute_sessions(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        tz = self._cfg.tz
        return tuple(
            (
                datetime.combine(d, start, tzinfo=tz).astimezone(UTC),
                datetime.combine(d, end, tzinfo=tz).astimezone(UTC),
            )
            for start, end in self._local_sessions(d)
        )

    def _opening(self, d: date) -> datetime:
        return self._day_sessions(d)[0][0]

    def _scan(self, d: date, step: timedelta) -> date:
        for _ in range(_MAX_DAYS_OFF_RUN):
            d += step
            if self.is_working_day(d):
                return d
        raise CalendarError(f"no working day within {_MAX_DAYS_OFF_RUN} days of {d}")

    def _forward(self, t: datetime, amount: timedelta) -> datetime:
        """First instant ``x >= t`` with ``amount`` of working time in ``[t, x]``."""
        d = self._cfg_local_date(t)
        for start, end in self._day_sessions(d):
            if end <= t:
                continue
            begin = max(start, t)
            if amount <= end - begin:
                return begin + amount
            amount -= end - begin
        if not amount:  # nothing to count: the next opening
            return self._opening(self.next_working_day(d))
        # The day on which the rest runs out, then the rest within that day.
        later = self._reach(d + _ONE_DAY, amount // _MICROSECOND, _WORK)
        amount -= self._span(d + _ONE_DAY, later, _WORK) * _MICROSECOND
        for start, end in self._day_sessions(later):
            if amount <= end - start:
                return start + amount
            amount -= end - start
        raise AssertionError("the running totals disagree with the day's sessions")

    def _backward(self, t: datetime, amount: timedelta) -> datetime:
        """Last instant ``x <= t`` with ``amount`` (> 0) of working time in ``[x, t]``."""
        d = self._cfg_local_date(t)
        for start, end in reversed(self._day_sessions(d)):
            if start >= t:
                continue
            finish = min(end, t)
            if amount <= finish - start:
                return finish - amount
            amount -= finish - start
        earlier = self._reach_back(d - _ONE_DAY, amount // _MICROSECOND)
        amount -= self._span(earlier + _ONE_DAY, d, _WORK) * _MICROSECOND
        for start, end in reversed(self._day_sessions(earlier)):
            if amount <= end - start:
                return end - amount
            amount -= end - start
        raise AssertionError("the running totals disagree with the day's sessions")

    def _overlap(self, d: date, a: datetime, b: datetime) -> timedelta:
        """Working time of local day ``d`` inside ``[a, b]``."""
        total = _ZERO
        for start, end in self._day_sessions(d):
            lo, hi = max(start, a), min(end, b)
            if hi > lo:
                total += hi - lo
        return total

    # -- running totals -------------------------------------------------------------------
    #
    # For each year, ``totals[k][i]`` is the working time (``_WORK``, in microseconds) or
    # the number of working days (``_DAYS``) in the year's days before day ``i`` (``i`` = 0
    # on 1 January), with one more entry for the whole year. Any span of whole days is then
    # a difference of two entries plus the totals of the years between.

    def _year_totals(self, year: int, kind: int) -> list[int]:
        built = self._totals.get(year)
        if built is None:
            self._check_year(date(year, 1, 1))
            work, days = [0], [0]
            d = date(year, 1, 1)
            while d.year == year:
                sessions = self._compute_sessions(d)
                work.append(work[-1] + sum((e - s) // _MICROSECOND for s, e in sessions))
                days.append(days[-1] + (1 if sessions else 0))
                d += _ONE_DAY
            built = self._totals[year] = (work, days)
        return built[kind]

    def _before(self, d: date, kind: int) -> int:
        """The total of ``kind`` over the days of ``d``'s year before ``d``."""
        index = d.toordinal() - date(d.year, 1, 1).toordinal()
        return self._year_totals(d.year, kind)[index] if index else 0

    def _span(self, first: date, stop: date, kind: int) -> int:
        """The total of ``kind`` over the whole days ``[first, stop)``."""
        if stop <= first:
            return 0
        years = sum(self._year_totals(y, kind)[-1] for y in range(first.year, stop.year))
        return years + self._before(stop, kind) - self._before(first, kind)

    def _reach(self, first: date, need: int, kind: int) -> date:
        """The first day ``x >= first`` with a total of at least ``need`` (> 0) of ``kind``
        over ``[first, x]``. Past the covered years it raises ``CalendarError``."""
        year, done = first.year, self._before(first, kind)
        totals = self._year_totals(year, kind)
        while totals[-1] - done < need:
            need -= totals[-1] - done
            year, done = year + 1, 0
            totals = self._year_totals(year, kind)
        index = bisect.bisect_left(totals, done + need) - 1
        return date(year, 1, 1) + timedelta(days=index)

    def _reach_back(self, last: date, need: int) -> date:
        """The last day ``x <= last`` with at least ``need`` (> 0) of working time over
        ``[x, last]``. Before the covered years it raises ``CalendarError``."""
        year = last.year
        totals = self._year_totals(year, _WORK)
        upto = totals[last.toordinal() - date(year, 1, 1).toordinal() + 1]
        while upto < need:
            need -= upto
            year -= 1
            totals = self._year_totals(year, _WORK)
            upto = totals[-1]
        index = bisect.bisect_right(totals, upto - need) - 1
        return date(year, 1, 1) + timedelta(days=index)


def _utc(t: datetime, name: str) -> datetime:
    if not isinstance(t, datetime):
        raise CalendarError(f"{name} must be a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise CalendarError(f"{name} must be timezone-aware, got naive datetime {t.isoformat()}")
    try:
        return t.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+07:00: no such instant in UTC
        raise CalendarError(f"{name} {t.isoformat()} is out of range in UTC") from None


def _as_timedelta(hours: float | timedelta) -> timedelta:
    if isinstance(hours, timedelta):
        return hours
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not math.isfinite(hours):
        raise CalendarError(f"working hours must be a finite number or timedelta, got {hours!r}")
    return timedelta(hours=hours)


@functools.cache
def _known_years(country: str) -> tuple[int, int]:
    try:
        known = holidays.country_holidays(country)
    except NotImplementedError:
        raise CalendarError(f"holiday_country: the holidays package has no {country!r}") from None
    return known.start_year, known.end_year


@functools.cache
def _default_calendar() -> WorkingCalendar:
    text = resources.files("motcua.shared.data").joinpath("calendar_vn.json").read_text("utf-8")
    return WorkingCalendar.from_config(json.loads(text))
