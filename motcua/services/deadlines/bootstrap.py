"""Wiring: what the handlers, the API and the scheduler of one process share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from motcua.services.deadlines.flags import (
    parse_thresholds,
)
from motcua.services.deadlines.scheduler import Scheduler, utc_now
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.usecases import Calendars, Policy


@dataclass
class Deadlines:
    """The service's shared parts: its rules, the calendars cache and the clock.

    ``clock`` is the time the scheduler and the worklist use; tests inject a movable one.
    """

    settings: DeadlinesSettings
    policy: Policy
    calendars: Calendars = field(default_factory=Calendars)
    clock: Callable[[], datetime] = utc_now
    scheduler: Scheduler | None = None


def build(settings: DeadlinesSettings, clock: Callable[[], datetime] | None = None) -> Deadlines:
    policy = Policy(
        thresholds=parse_thresholds(settings.approaching_thresholds),
        apology_grace_days=settings.apology_grace_working_days,
    )
    return Deadlines(settings=settings, policy=policy, clock=clock or utc_now)
