"""Remote tickets: a number for today taken from a phone. Pure rules, no I/O.

The ticket waits its turn like any other, but is called only once the citizen has
confirmed arrival, at the kiosk or by scanning the QR code on the center's door.
That code changes every day and is derived from the service's secret, so it proves
presence: nobody can confirm from home with yesterday's photo of it. A ticket the
line went past while unconfirmed is skipped; after a grace time, it is a no-show.
Priority is never claimed remotely (``domain.issue``). Limits per phone number and
per client address keep one person from taking many numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from motcua.services.queue.errors import Limited, Refused
from motcua.shared.calendar import CalendarError, WorkingCalendar


@dataclass(frozen=True)
class RemoteRules:
    """How one center hands out remote tickets (queue settings, per-center overrides)."""

    opens_at: time = time(7, 0)  # local, on working days
    closes_at: time = time(16, 0)
    per_phone_per_day: int = 1
    per_client_per_day: int = 5
    grace_minutes: int = 15  # skipped this long unconfirmed: a no-show


def check_open(calendar: WorkingCalendar, now: datetime, rules: RemoteRules) -> date:
    """Today's local date, if remote tickets are being handed out now."""
    try:
        today = calendar.local_date(now)
        working = calendar.is_working_day(today)
    except CalendarError:
        working = False
    local = now.astimezone(calendar.tz).time()
    if not working or not rules.opens_at <= local < rules.closes_at:
        raise Refused(
            "line_code",
            "remote_closed",
            opens=rules.opens_at.strftime("%H:%M"),
            closes=rules.closes_at.strftime("%H:%M"),
        )
    return today


def check_limits(by_phone: int, by_client: int, rules: RemoteRules, retry_after: int) -> None:
    """Refuse one more remote ticket past the day's limit of the phone or the address."""
    if by_phone >= rules.per_phone_per_day:
        raise Limited("contact", "remote_limit_phone", retry_after)
    if by_client >= rules.per_client_per_day:
        raise Limited("contact", "remote_limit_client", retry_after)


def seconds_to_midnight(calendar: WorkingCalendar, now: datetime) -> int:
    local = now.astimezone(calendar.tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=calendar.tz)
    return max(int((midnight - local).total_seconds()), 1)


def digest(secret: bytes, purpose: str, value: str) -> str:
    """A keyed digest: counts one phone or address without storing it (and without a
    plain hash, which a list of every Vietnamese number would reverse)."""
    mac = hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def door_code(secret: bytes, center_id: str, day: date) -> str:
    """The code in today's QR on the center's door (and on the kiosk's screen)."""
    mac = hmac.new(secret, f"door:{center_id}:{day.isoformat()}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()[:5]).decode()


def check_door(secret: bytes, center_id: str, day: date, given: str) -> None:
    if not hmac.compare_digest(door_code(secret, center_id, day), given.strip().upper()):
        raise Refused("door_code", "door_code_wrong")


def skipped_before(now: datetime, rules: RemoteRules) -> datetime:
    """Unconfirmed tickets first skipped before this are no-shows."""
    return now - timedelta(minutes=rules.grace_minutes)
