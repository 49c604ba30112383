"""The apology letter for a late dossier (phiếu xin lỗi và hẹn lại ngày trả kết quả).

A letter is drafted when a dossier's due instant passes while it is still open; its new
appointment is computed on the center's calendar (:func:`domain.new_appointment`). The text
follows the national form and holds no personal data: it is addressed to "the applicant",
and the reason is left as a dotted line for the officer unless one is recorded.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class ApologyLetter:
    """What a letter says; rendered on demand so the wording can improve without migration."""

    letter_id: uuid.UUID
    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str
    procedure_code: str
    received_at: datetime
    due_at: datetime
    new_appointment_at: datetime
    issued_at: datetime
    center_name: str | None = None
    reason: str | None = None


def vn_date(t: datetime, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """``ngày 05 tháng 02 năm 2026`` in the office's time zone."""
    local = t.astimezone(tz)
    return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"


def vn_datetime(t: datetime, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """``17 giờ 00 phút, ngày 05 tháng 02 năm 2026`` in the office's time zone."""
    local = t.astimezone(tz)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, {vn_date(t, tz)}"


@functools.cache
def _environment(tz_name: str) -> jinja2.Environment:
    tz = ZoneInfo(tz_name)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("motcua.services.deadlines", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text, not HTML
        keep_trailing_newline=True,
    )
    env.filters["vn_date"] = lambda t: vn_date(t, tz)
    env.filters["vn_datetime"] = lambda t: vn_datetime(t, tz)
    return env


def render(letter: ApologyLetter, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """The letter's Vietnamese text."""
    template = _environment(tz.key).get_template("apology_letter.txt.j2")
    return template.render(
        center_name=letter.center_name or f"Bộ phận Một cửa {letter.center_id}",
        dossier_code=letter.dossier_code,
        procedure_code=letter.procedure_code,
        received_at=letter.received_at,
        due_at=letter.due_at,
        new_appointment_at=letter.new_appointment_at,
        issued_at=letter.issued_at,
        reason=letter.reason,
    )
