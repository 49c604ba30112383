"""The printable receipt: *phiếu tiếp nhận hồ sơ và hẹn trả kết quả* (HTML, Jinja2).

Times print in the calendar's local time with Vietnamese wording ("15 giờ 30
phút, ngày 02 tháng 3 năm 2026"). Autoescaping is on: every field a clerk or a
citizen typed is text, never markup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from motcua.services.intake.repository.dossiers import DossierRecord
from motcua.shared.web import templates

_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def vi_datetime(t: datetime, tz: ZoneInfo) -> str:
    """``15 giờ 30 phút, Thứ Hai ngày 02 tháng 03 năm 2026`` in ``tz``."""
    local = t.astimezone(tz)
    return (
        f"{local:%H} giờ {local:%M} phút, {_WEEKDAYS[local.weekday()]} "
        f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"
    )


def short_local(t: datetime, tz: ZoneInfo) -> str:
    """``17:00 02/03/2026`` in ``tz``."""
    return f"{t.astimezone(tz):%H:%M %d/%m/%Y}"


@dataclass(frozen=True)
class ReceiptPage:
    """What the receipt shows. ``applicant_name`` is left out on public reprints."""

    dossier: DossierRecord
    secret: str
    center_name: str
    lookup_url: str
    tz: ZoneInfo
    applicant_name: str | None
    awaiting_acceptance: bool = False
    """Filed online and not yet accepted: the date is the one it would get if accepted
    now, and is counted again at acceptance, when the legal clock starts."""


@functools.cache
def _environment() -> jinja2.Environment:
    return templates("motcua.services.intake")


def render_receipt(page: ReceiptPage) -> str:
    d = page.dossier
    procedure: dict[str, Any] = d.procedure
    unit = "ngày làm việc" if d.time_limit_unit == "working_days" else "giờ làm việc"
    if d.time_limit_amount == 0 and d.time_limit_unit == "working_days":
        limit = "Trong ngày làm việc"
    else:
        limit = f"{d.time_limit_amount} {unit}"
    if d.time_limit_rollover:
        limit += " (tiếp nhận sau 15 giờ: trả trong ngày làm việc tiếp theo)"
    received = set(d.documents_received)
    documents = [
        {"name": doc["vi"], "received": doc["vi"] in received}
        for doc in procedure.get("required_documents", [])
    ]
    listed = {doc["name"] for doc in documents}
    documents += [
        {"name": name, "received": True} for name in d.documents_received if name not in listed
    ]
    return (
        _environment()
        .get_template("receipt.html.j2")
        .render(
            code=d.code,
            secret=page.secret,
            center_name=page.center_name,
            lookup_url=page.lookup_url,
            applicant_name=page.applicant_name,
            procedure_name=procedure["name"]["vi"],
            procedure_name_en=procedure["name"]["en"],
            procedure_code=d.procedure_code,
            channel="Trực tiếp tại Bộ phận Một cửa" if d.channel == "counter" else "Trực tuyến",
            time_limit=limit,
            received_at=vi_datetime(d.received_at, page.tz),
            appointment_at=vi_datetime(d.appointment_at, page.tz),
            appointment_short=short_local(d.appointment_at, page.tz),
            documents=documents,
            awaiting_acceptance=page.awaiting_acceptance,
            fee=procedure.get("fee", {}).get("vi"),
            received_by=d.received_by,
            issued_on=f"ngày {d.received_at.astimezone(page.tz):%d} tháng "
            f"{d.received_at.astimezone(page.tz):%m} năm {d.received_at.astimezone(page.tz):%Y}",
        )
    )
