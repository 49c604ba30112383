"""Every message template renders in Vietnamese and English with sample data."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import pytest

from motcua.services.notify.domain import Channel, Kind
from motcua.services.notify.message_templates import LANGUAGES, Composer, Renderer

_BOOKING = {"code": "K7Q2M9XD", "slot_start": "2025-11-28T02:00:00+00:00", "line_code": "justice"}
SAMPLES: dict[Kind, dict[str, Any]] = {
    Kind.TURN_SOON: {"number": "A012", "ahead": 2, "wait_minutes": 8, "line_code": "A"},
    Kind.TICKET_CALLED: {"number": "A012", "counter_id": "3", "line_code": "A"},
    Kind.DOSSIER_RECEIVED: {
        "dossier_code": "HS-000123",
        "procedure_code": "BIRTH",
        "appointment_at": "2025-11-28T09:00:00+00:00",
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.SUPPLEMENT_REQUESTED: {
        "dossier_code": "HS-000123",
        "reason": "Thiếu bản sao",
        "missing_documents": ["Giấy chứng sinh"],
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.RESULT_READY: {
        "dossier_code": "HS-000123",
        "outcome": "approved",
        "reason": None,
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.DOSSIER_RETURNED: {
        "dossier_code": "HS-000123",
        "feedback_url": "https://motcua.example.vn/feedback/fABC",
    },
    Kind.DEADLINE_APOLOGY: {
        "dossier_code": "HS-000123",
        "due_at": "2025-11-27T10:00:00+00:00",
        "new_appointment_at": "2025-12-02T10:00:00+00:00",
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    # Appointments booked at the queue.
    Kind.APPOINTMENT_BOOKED: _BOOKING,
    Kind.APPOINTMENT_RESCHEDULED: _BOOKING,
    Kind.APPOINTMENT_REMINDER: _BOOKING,
    Kind.DOSSIER_SUBMITTED: {
        "dossier_code": "HS-000123",
        "procedure_code": "BIRTH",
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.NOT_ACCEPTED: {
        "dossier_code": "HS-000123",
        "reason": "Ảnh tờ khai bị mờ, không đọc được",
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.FINANCIAL_OBLIGATION: {
        "dossier_code": "HS-000123",
        "amount_vnd": 1250000,
        "purpose": "Lệ phí đăng ký thường trú",
        "how_to_pay": "Chuyển khoản vào tài khoản 1234 tại Vietcombank",
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.NEW_APPOINTMENT: {
        "dossier_code": "HS-000123",
        "due_at": "2025-12-03T10:00:00+00:00",
        "previous_due_at": "2025-12-01T10:00:00+00:00",
        "reason": "extension",
        "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    },
    Kind.STAFF_APPROACHING: {
        "dossier_code": "HS-000123",
        "procedure_code": "BIRTH",
        "due_at": "2025-12-03T10:00:00+00:00",
    },
    Kind.STAFF_AT_RISK: {
        "dossier_code": "HS-000123",
        "procedure_code": "BIRTH",
        "due_at": "2025-12-03T10:00:00+00:00",
    },
    Kind.STAFF_OVERDUE: {
        "dossier_code": "HS-000123",
        "procedure_code": "BIRTH",
        "due_at": "2025-12-01T10:00:00+00:00",
        "new_appointment_at": "2025-12-03T10:00:00+00:00",
    },
    Kind.STAFF_STILL_OPEN: {
        "dossier_code": "HS-000123",
        "procedure_code": "BIRTH",
        "due_at": "2025-12-01T10:00:00+00:00",
        "new_appointment_at": "2025-12-03T10:00:00+00:00",
    },
}
EXPECTED = {
    ("vi", Kind.FINANCIAL_OBLIGATION): "nghĩa vụ tài chính: 1.250.000 đồng. "
    "Nội dung: Lệ phí đăng ký thường trú. Cách nộp: Chuyển khoản",
    ("en", Kind.FINANCIAL_OBLIGATION): "a payment due: VND 1,250,000. "
    "For: Lệ phí đăng ký thường trú. How to pay: Chuyển khoản",
    (
        "vi",
        Kind.NEW_APPOINTMENT,
    ): "(hồ sơ được gia hạn): 17:00 03/12/2025 (trước đây: 17:00 01/12/2025)",
    (
        "en",
        Kind.NEW_APPOINTMENT,
    ): "(an extension was granted): 17:00 03/12/2025 (was 17:00 01/12/2025)",
    ("vi", Kind.DOSSIER_RECEIVED): "Ngày hẹn trả kết quả: 16:00 28/11/2025",
    ("en", Kind.DOSSIER_RECEIVED): "Results due: 16:00 28/11/2025",
    ("vi", Kind.DEADLINE_APOLOGY): "Ngày hẹn trả kết quả mới: 17:00 02/12/2025",
    ("en", Kind.DEADLINE_APOLOGY): "New date for your result: 17:00 02/12/2025",
    ("vi", Kind.TICKET_CALLED): "Mời số A012 đến quầy 3.",
    ("en", Kind.TICKET_CALLED): "Ticket A012: please go to counter 3 now.",
    ("vi", Kind.APPOINTMENT_BOOKED): "lúc 09:00 28/11/2025. Mã đặt lịch: K7Q2M9XD.",
    ("en", Kind.APPOINTMENT_BOOKED): "booked for 09:00 28/11/2025. Booking code: K7Q2M9XD.",
    ("vi", Kind.APPOINTMENT_REMINDER): "lịch hẹn lúc 09:00 28/11/2025, mã K7Q2M9XD",
    ("en", Kind.APPOINTMENT_REMINDER): "appointment is at 09:00 28/11/2025, code K7Q2M9XD",
    ("vi", Kind.STAFF_OVERDUE): "đã quá hạn giải quyết (17:00 01/12/2025). Ngày hẹn mới",
    ("en", Kind.STAFF_OVERDUE): "missed its due date (17:00 01/12/2025). The citizen's new date",
}
RENDERER = Renderer()
COMPOSER = Composer(RENDERER, public_url="https://motcua.example.vn/", link_secret="s")


def test_there_is_a_sample_for_every_kind() -> None:
    assert set(SAMPLES) == set(Kind)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(Kind))
def test_every_template_renders_in_both_languages(kind: Kind, language: str) -> None:
    rendered = RENDERER.render(kind, language, {**SAMPLES[kind], "optout_url": "https://x/o"})
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert not re.search(r"{{|}}|{%|%}|None", rendered.subject + rendered.body)
    for value in SAMPLES[kind].values():
        if isinstance(value, str) and value.startswith(("A0", "HS-", "https")):
            assert value in rendered.body
    footer = "Từ chối nhận tin:" if language == "vi" else "Stop these messages:"
    assert rendered.body.splitlines()[-1].startswith(footer)
    if expected := EXPECTED.get((language, kind)):
        assert expected in rendered.body


def test_vietnamese_is_the_default_and_differs_from_english() -> None:
    sample = {**SAMPLES[Kind.RESULT_READY], "optout_url": "https://x/o"}
    vi, en = (
        RENDERER.render(Kind.RESULT_READY, "vi", sample),
        RENDERER.render(Kind.RESULT_READY, "en", sample),
    )
    assert RENDERER.render(Kind.RESULT_READY, "fr", sample) == vi
    assert vi.body != en.body
    assert "kết quả" in vi.body


def test_a_refusal_reads_differently_from_an_approval() -> None:
    sample = {**SAMPLES[Kind.RESULT_READY], "optout_url": "o", "outcome": "refused"}
    body = RENDERER.render(Kind.RESULT_READY, "vi", sample | {"reason": "Sai mẫu"}).body
    assert "không chấp thuận (Sai mẫu)" in body


def test_missing_context_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        RENDERER.render(Kind.TICKET_CALLED, "vi", {"number": "A1", "optout_url": "o"})


def test_the_footer_needs_its_link_and_follows_the_language() -> None:
    sample = SAMPLES[Kind.TICKET_CALLED]
    with pytest.raises(jinja2.UndefinedError):
        RENDERER.render(Kind.TICKET_CALLED, "en", sample)
    for language, footer in [("en", "Stop"), ("vi", "Từ chối"), ("en", "Stop")]:
        body = RENDERER.render(Kind.TICKET_CALLED, language, sample | {"optout_url": "o"}).body
        assert body.splitlines()[-1].startswith(footer)


def test_composed_sms_counts_its_segments_and_carries_a_working_opt_out_link() -> None:
    composed = COMPOSER.compose(
        Kind.DOSSIER_RECEIVED, Channel.SMS, "r_" + "ab" * 16, "vi", SAMPLES[Kind.DOSSIER_RECEIVED]
    )
    assert composed.segments is not None
    assert composed.segments >= 3  # UCS-2 for the diacritics, plus two links
    assert "https://motcua.example.vn/optout/o" in composed.body
    email = COMPOSER.compose(
        Kind.DOSSIER_RECEIVED, Channel.EMAIL, "r_" + "ab" * 16, "vi", SAMPLES[Kind.DOSSIER_RECEIVED]
    )
    assert email.segments is None


@pytest.mark.parametrize(
    ("language", "words"), [("vi", "nộp tại Bộ phận một cửa"), ("en", "at the one-stop counter")]
)
def test_a_financial_obligation_without_details_still_says_how_to_pay(
    language: str, words: str
) -> None:
    bare = {**SAMPLES[Kind.FINANCIAL_OBLIGATION], "optout_url": "o"}
    bare |= {"amount_vnd": None, "purpose": None, "how_to_pay": None}
    body = RENDERER.render(Kind.FINANCIAL_OBLIGATION, language, bare).body
    assert words in body
    assert "None" not in body


REASONS = ("pause", "extension", "correction", "apology")


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_new_date_says_why_it_moved(reason: str, language: str) -> None:
    sample = {**SAMPLES[Kind.NEW_APPOINTMENT], "optout_url": "o", "reason": reason}
    bodies = {
        r: RENDERER.render(Kind.NEW_APPOINTMENT, language, sample | {"reason": r}).body
        for r in REASONS
    }
    assert len(set(bodies.values())) == len(REASONS)
    assert "03/12/2025" in bodies[reason]
