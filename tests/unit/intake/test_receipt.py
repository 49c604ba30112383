"""Rendering the printable receipt."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from motcua.services.intake.catalog import load_catalog
from motcua.services.intake.receipt import ReceiptPage, render_receipt, vi_datetime
from motcua.services.intake.repository.dossiers import DossierRecord

ICT = ZoneInfo("Asia/Ho_Chi_Minh")


def dossier(**over: object) -> DossierRecord:
    procedure = load_catalog().get("CT-BANSAO")
    assert procedure is not None
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "code": "NC-20260302-0007",
        "center_id": "nam-cuong",
        "procedure_code": "CT-BANSAO",
        "procedure": procedure.model_dump(mode="json"),
        "line_code": "TP",
        "channel": "counter",
        "status": 2,
        "time_limit_amount": 0,
        "time_limit_unit": "working_days",
        "time_limit_rollover": True,
        "received_at": datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        "appointment_at": datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        "secret_hash": b"",
        "secret_sealed": "",
        "applicant_name": "Lê Văn C",
        "contact_kind": None,
        "contact_sealed": None,
        "contact_language": None,
        "contact_consent": False,
        "documents_received": ["Bản chính giấy tờ, văn bản làm cơ sở để chứng thực bản sao"],
        "note": None,
        "ticket_id": None,
        "assignee": None,
        "department": None,
        "outcome": None,
        "received_by": "clerk-7",
        "correlation_id": uuid.uuid4(),
        "version": 1,
        "updated_at": datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
    } | over
    return DossierRecord(**fields)  # type: ignore[arg-type]


def page(d: DossierRecord, name: str | None) -> str:
    return render_receipt(
        ReceiptPage(
            dossier=d,
            secret="K7Q2M-9XD4T",
            center_name="Trung tâm Phục vụ hành chính công phường Nam Cường",
            lookup_url="https://example.invalid/lookup",
            tz=ICT,
            applicant_name=name,
        )
    )


def test_receipt_shows_what_the_citizen_needs_in_vietnamese() -> None:
    html = page(dossier(), "Lê Văn C")
    for text in (
        "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "NC-20260302-0007",
        "K7Q2M-9XD4T",
        "Lê Văn C",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        "Trong ngày làm việc (tiếp nhận sau 15 giờ: trả trong ngày làm việc tiếp theo)",
        "15 giờ 30 phút, Thứ Hai ngày 02 tháng 03 năm 2026",
        "17 giờ 00 phút, Thứ Ba ngày 03 tháng 03 năm 2026",
        "✓</span>Bản chính giấy tờ",
        "&nbsp;</span>Bản sao cần chứng thực",
        "clerk-7",
        "@media print",
    ):
        assert text in html, text


def test_receipt_escapes_typed_text_and_can_omit_the_name() -> None:
    html = page(dossier(documents_received=["<script>x</script>"]), "<img src=x>")
    assert "<script>x" not in html
    assert "&lt;script&gt;" in html
    assert "<img src=x>" not in html
    assert "Lê Văn C" not in page(dossier(), None)


def test_vietnamese_date_wording() -> None:
    assert vi_datetime(datetime(2026, 1, 10, 10, 0, tzinfo=UTC), ICT) == (
        "17 giờ 00 phút, Thứ Bảy ngày 10 tháng 01 năm 2026"
    )
