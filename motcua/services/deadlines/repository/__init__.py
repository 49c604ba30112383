"""Explicit SQL of the deadlines service on an asyncpg connection.

Every function runs on the caller's connection and inside the caller's transaction; none
commits. Rows come back as domain objects or small frozen records, and asyncpg errors are
translated into the domain's errors here, so nothing above this package sees asyncpg's.
JSON columns travel as text, so any connection works whatever its codecs.

* ``clocks``: the clock store written by the event handlers and the API (clocks, facts,
  flags, centers' calendars);
* ``schedule``: the scheduler's claim of due clocks, apology letters, bulk loading;
* ``reports``: the on-time statistics' cohort queries;
* ``ratings``: the citizens' ratings and their counts for the satisfaction report;
* ``names``: the procedures' names, so that pages show names, not codes;
* ``timeline``: each dossier's timeline, a read model of the events deadlines reads;
* ``scorecard``: the 766 scorecard's stored facts (channel, documents) and its counts.
* ``waits``: each ticket's wait at the counters and every center's over a period.
"""

from motcua.services.deadlines.repository.clocks import (
    CenterCalendar,
    FlagRecord,
    Receipt,
    Touched,
    add_closure,
    add_extension,
    add_pause_mark,
    center_calendar,
    flags_of,
    get_clock,
    load_clock,
    open_clocks,
    record_assignment,
    record_receipt,
    save_center_calendar,
    save_state,
    touch_clock,
)
from motcua.services.deadlines.repository.names import procedure_names, save_procedure_name
from motcua.services.deadlines.repository.ratings import rating_counts, save_rating
from motcua.services.deadlines.repository.reports import (
    cohort_adjusted,
    cohort_counts_by_day,
    fold_on_time_days,
    repeated_supplements,
    summary_days,
    supplement_counts,
)
from motcua.services.deadlines.repository.rows import ClockRow, schedule_rows
from motcua.services.deadlines.repository.schedule import (
    CLOCK_COPY_COLUMNS,
    DueClock,
    add_letters,
    claim_due,
    complete_letter,
    copy_clocks,
    latest_letter,
    next_fire_at,
    record_fired,
    reschedule,
)
from motcua.services.deadlines.repository.scorecard import (
    fold_scorecard_days,
    record_channel,
    record_document,
    refresh_flags,
)
from motcua.services.deadlines.repository.timeline import add_entries, dossier_entries

__all__ = [
    "CLOCK_COPY_COLUMNS",
    "CenterCalendar",
    "ClockRow",
    "DueClock",
    "FlagRecord",
    "Receipt",
    "Touched",
    "add_closure",
    "add_entries",
    "add_extension",
    "add_letters",
    "add_pause_mark",
    "center_calendar",
    "claim_due",
    "cohort_adjusted",
    "cohort_counts_by_day",
    "complete_letter",
    "copy_clocks",
    "dossier_entries",
    "flags_of",
    "fold_on_time_days",
    "fold_scorecard_days",
    "get_clock",
    "latest_letter",
    "load_clock",
    "next_fire_at",
    "open_clocks",
    "procedure_names",
    "rating_counts",
    "record_assignment",
    "record_channel",
    "record_document",
    "record_fired",
    "record_receipt",
    "refresh_flags",
    "repeated_supplements",
    "reschedule",
    "save_center_calendar",
    "save_procedure_name",
    "save_rating",
    "save_state",
    "schedule_rows",
    "summary_days",
    "supplement_counts",
    "touch_clock",
]
