"""The apology letter for a late dossier (phiếu xin lỗi và hẹn lại ngày trả kết quả).

A letter is drafted when a dossier's due instant passes while it is still open; its new
appointment is computed on the center's calendar (:func:`domain.new_appointment`). The
deciding officer then completes it: the reason for the delay, and the new date they set
(by default the computed one stands). The text follows the national form and holds no
personal data: it is addressed to "the applicant", names the procedure and the center in
full, and leaves the reason as a dotted line until the officer gives one.

It is printable two ways: as plain text, and as a standalone HTML document (A4, with the
leader's signature block) to print and sign, or to keep as a file.
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
    procedure_name: str | None = None
    set_appointment_at: datetime | None = None
    completed_by: str | None = None
    completed_at: datetime | None = None

    @property
    def appointment_at(self) -> datetime:
        """The new date the letter promises: the officer's, else the computed one."""
        return self.set_appointment_at or self.new_appointment_at


def vn_date(t: datetime, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """``ngày 05 tháng 02 năm 2026`` in the office's time zone."""
    local = t.astimezone(tz)
    return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"


def vn_datetime(t: datetime, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """``17 giờ 00 phút, ngày 05 tháng 02 năm 2026`` in the office's time zone."""
    local = t.astimezone(tz)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, {vn_date(t, tz)}"


@functools.cache
def _environment(tz_name: str, html: bool = False) -> jinja2.Environment:
    tz = ZoneInfo(tz_name)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("motcua.services.deadlines", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=html,  # the text letter is plain; the document escapes what it quotes
        keep_trailing_newline=True,
    )
    env.filters["vn_date"] = lambda t: vn_date(t, tz)
    env.filters["vn_datetime"] = lambda t: vn_datetime(t, tz)
    return env


def _context(letter: ApologyLetter) -> dict[str, object]:
    return {
        "center_name": letter.center_name or f"Bộ phận Một cửa {letter.center_id}",
        "dossier_code": letter.dossier_code,
        "procedure": letter.procedure_name or letter.procedure_code,
        "received_at": letter.received_at,
        "due_at": letter.due_at,
        "new_appointment_at": letter.appointment_at,
        "issued_at": letter.issued_at,
        "reason": letter.reason,
    }


def render(letter: ApologyLetter, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """The letter's Vietnamese text."""
    template = _environment(tz.key).get_template("apology_letter.txt.j2")
    return template.render(**_context(letter))


def render_document(letter: ApologyLetter, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """The letter as a standalone HTML document, laid out for an A4 page and the leader's
    signature: it needs nothing else to print, and keeps as one file."""
    template = _environment(tz.key, html=True).get_template("apology_letter.html.j2")
    return template.render(**_context(letter))
