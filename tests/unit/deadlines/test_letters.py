"""The apology letter's Vietnamese text."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from motcua.services.deadlines.letters import ApologyLetter, render, render_document, vn_datetime
from motcua.services.deadlines.queries import center_name

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def letter(**kw: object) -> ApologyLetter:
    base: dict[str, object] = {
        "letter_id": uuid.uuid4(),
        "dossier_id": uuid.uuid4(),
        "center_id": "nam-cuong",
        "dossier_code": "NC-20260302-0007",
        "procedure_code": "HT-KS",
        "received_at": datetime(2026, 3, 2, 9, tzinfo=VN),
        "due_at": datetime(2026, 3, 5, 17, tzinfo=VN),
        "new_appointment_at": datetime(2026, 3, 9, 17, tzinfo=VN),
        "issued_at": datetime(2026, 3, 5, 17, 0, 2, tzinfo=VN),
    }
    return ApologyLetter(**(base | kw))  # type: ignore[arg-type]


def test_letter_names_the_dossier_the_missed_date_and_the_new_one() -> None:
    text = render(letter(center_name="Trung tâm Phục vụ hành chính công phường Nam Cường"))
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG PHƯỜNG NAM CƯỜNG" in text
    assert "Mã hồ sơ: NC-20260302-0007" in text
    assert "Ngày 02 tháng 03 năm 2026, Trung tâm Phục vụ hành chính công" in text
    assert "theo quy định: 17 giờ 00 phút, ngày 05 tháng 03 năm 2026." in text
    assert "vào 17 giờ 00 phút, ngày 09 tháng 03 năm 2026." in text
    assert "Lý do: ....." in text  # left for the officer


def test_times_are_local_even_when_stored_in_utc() -> None:
    assert vn_datetime(datetime(2026, 3, 5, 10, tzinfo=ZoneInfo("UTC"))) == (
        "17 giờ 00 phút, ngày 05 tháng 03 năm 2026"
    )


def test_without_a_name_the_center_id_is_used() -> None:
    assert "Bộ phận Một cửa nam-cuong" in render(letter())


def test_a_stored_center_name_wins_over_the_configured_one() -> None:
    configured = {"nam-cuong": "Trung tâm Nam Cường"}
    assert center_name("nam-cuong", "UBND phường Nam Cường", configured) == "UBND phường Nam Cường"
    assert center_name("nam-cuong", None, configured) == "Trung tâm Nam Cường"
    assert center_name("bac-ha", None, configured) is None


def test_the_officers_reason_and_date_replace_the_dots_and_the_computed_date() -> None:
    done = letter(
        reason="Cần xác minh tại cơ quan khác",
        set_appointment_at=datetime(2026, 3, 12, 16, 30, tzinfo=VN),
        procedure_name="Đăng ký khai sinh",
    )
    text = render(done)
    assert "Lý do: Cần xác minh tại cơ quan khác" in text
    assert "vào 16 giờ 30 phút, ngày 12 tháng 03 năm 2026." in text
    assert "Thủ tục hành chính: Đăng ký khai sinh" in text
    assert "HT-KS" not in text
    assert done.appointment_at == datetime(2026, 3, 12, 16, 30, tzinfo=VN)
    assert letter().appointment_at == letter().new_appointment_at


def test_the_document_to_sign_escapes_what_it_quotes() -> None:
    html = render_document(letter(reason="<script>alert(1)</script>", center_name="A & B"))
    assert html.startswith("<!doctype html>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "A &amp; B" in html
    assert "THỦ TRƯỞNG CƠ QUAN" in html
    assert "(Ký, ghi rõ họ tên)" in html
