"""The notify service's pure rules: channel plans, quiet hours, "your turn soon",
retries, rate limits and reply keywords."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.services.notify.domain import (
    Channel,
    Kind,
    QuietHours,
    RetryPolicy,
    SoonState,
    Step,
    TokenBucket,
    TurnSoonRule,
    Verdict,
    WaitingTicket,
    after_failure,
    before_send,
    entry_state,
    estimated_wait_seconds,
    is_opt_out,
    newly_close,
    plan_channels,
    queue_order,
    send_not_before,
    updated_service_seconds,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ORDER = [Channel.SMS, Channel.EMAIL]


def local(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=HCM).astimezone(UTC)


# ------------------------------------------------------------------- channels


def test_fallback_order_is_sms_then_email_then_none() -> None:
    plan = plan_channels(["phone", "email"], [Channel.SMS, Channel.EMAIL], ORDER)
    assert plan == [Step(Channel.SMS, "phone"), Step(Channel.EMAIL, "email")]


def test_a_channel_is_tried_only_if_configured_and_reaching_a_contact() -> None:
    assert plan_channels(["phone"], [Channel.SMS, Channel.EMAIL], ORDER) == [
        Step(Channel.SMS, "phone")
    ]
    assert plan_channels(["email"], [Channel.SMS], ORDER) == []  # none: recorded, not sent
    assert plan_channels(["phone"], [Channel.EMAIL], ORDER) == []


def test_webhook_joins_where_the_order_puts_it_and_reaches_a_phone() -> None:
    order = [Channel.WEBHOOK, Channel.SMS, Channel.EMAIL]
    configured = [Channel.SMS, Channel.WEBHOOK]
    assert plan_channels(["phone"], configured, order) == [
        Step(Channel.WEBHOOK, "phone"),
        Step(Channel.SMS, "phone"),
    ]
    # Configured but not in the order: not used.
    assert plan_channels(["phone"], configured, ORDER) == [Step(Channel.SMS, "phone")]


def test_without_any_channel_the_dev_inbox_takes_every_message() -> None:
    assert plan_channels(["email"], [], ORDER) == [Step(Channel.DEV_INBOX, "email")]
    assert plan_channels([], [], ORDER) == []  # no consent, nothing


# ---------------------------------------------------------------- quiet hours

NIGHT = QuietHours(time(21, 0), time(7, 0))


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (6, 59, True), (7, 0, False)],
)
def test_quiet_hours_span_midnight(hour: int, minute: int, quiet: bool) -> None:
    assert NIGHT.contains(local(hour, minute)) is quiet


def test_a_message_held_at_night_goes_out_at_seven_the_next_morning() -> None:
    assert NIGHT.release_at(local(22, 15)) == local(7, 0, day=28)
    assert NIGHT.release_at(local(5, 0)) == local(7, 0)
    assert NIGHT.release_at(local(12, 0)) == local(12, 0)


def test_a_daytime_window_and_an_empty_one() -> None:
    lunch = QuietHours(time(11, 30), time(13, 30))
    assert lunch.contains(local(12, 0))
    assert not lunch.contains(local(13, 30))
    assert lunch.release_at(local(12, 0)) == local(13, 30)
    assert not QuietHours(time(0, 0), time(0, 0)).contains(local(3, 0))


def test_only_non_urgent_sms_wait_for_the_morning() -> None:
    at = local(22, 0)
    held = send_not_before(at, channel=Channel.SMS, kind=Kind.RESULT_READY, quiet=NIGHT)
    assert held == local(7, 0, day=28)
    for channel, kind in [
        (Channel.SMS, Kind.TICKET_CALLED),
        (Channel.SMS, Kind.TURN_SOON),
        (Channel.EMAIL, Kind.RESULT_READY),
        (Channel.WEBHOOK, Kind.DEADLINE_APOLOGY),
    ]:
        assert send_not_before(at, channel=channel, kind=kind, quiet=NIGHT) == at


@pytest.mark.parametrize("kind", [Kind.FINANCIAL_OBLIGATION, Kind.NEW_APPOINTMENT])
def test_a_payment_due_or_a_new_date_waits_for_the_morning_by_sms(kind: Kind) -> None:
    at = local(22, 0)
    assert send_not_before(at, channel=Channel.SMS, kind=kind, quiet=NIGHT) == local(7, 0, day=28)


# ----------------------------------------------------------- your turn soon

T0 = datetime(2025, 11, 27, 1, 0, tzinfo=UTC)


def ticket(
    n: int, *, priority: bool = False, state: SoonState = SoonState.PENDING
) -> WaitingTicket:
    return WaitingTicket(f"t{n}", f"A{n:03}", priority, T0 + timedelta(minutes=n), state)


def test_the_line_is_served_priority_first_then_by_arrival() -> None:
    line = [ticket(1), ticket(2, priority=True), ticket(3)]
    assert [t.number for t in queue_order(line)] == ["A002", "A001", "A003"]


def test_tickets_brought_within_n_are_told_once() -> None:
    rule = TurnSoonRule(max_ahead=2, max_wait_seconds=0)
    line = [
        ticket(1, state=SoonState.CLOSE_ON_ENTRY),
        ticket(2, state=SoonState.NOTIFIED),
        ticket(3),
        ticket(4),
    ]
    close = newly_close(line, rule, service_seconds=300, open_counters=1)
    assert [(c.ticket.number, c.ahead) for c in close] == [("A003", 2)]


def test_estimated_wait_under_m_minutes_also_counts() -> None:
    rule = TurnSoonRule(max_ahead=0, max_wait_seconds=10 * 60)
    line = [ticket(i, state=SoonState.NOTIFIED) for i in range(1, 4)] + [ticket(4), ticket(5)]
    # 3 ahead at 4 minutes each over 2 counters is 6 minutes: close; 4 ahead is 8: close.
    close = newly_close(line, rule, service_seconds=240, open_counters=2)
    assert [c.ticket.number for c in close] == ["A004", "A005"]
    assert close[0].wait_seconds == estimated_wait_seconds(3, 240, 2) == 360


def test_a_ticket_joining_already_close_is_not_messaged_later() -> None:
    rule = TurnSoonRule(max_ahead=1, max_wait_seconds=0)
    line = [ticket(1)]
    second = entry_state(ticket(2), line, rule, service_seconds=60, open_counters=1)
    third = entry_state(ticket(3), [*line, ticket(2)], rule, service_seconds=60, open_counters=1)
    assert (second, third) == (SoonState.CLOSE_ON_ENTRY, SoonState.PENDING)


def test_service_time_is_a_moving_average() -> None:
    assert updated_service_seconds(300, 100) == pytest.approx(260)


# ------------------------------------------------------------------- retries

POLICY = RetryPolicy(max_attempts=5, base_seconds=2, max_seconds=60)


@given(attempt=st.integers(1, 30), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_is_exponential_with_jitter_and_capped(attempt: int, jitter: float) -> None:
    ceiling = min(60, 2 * 2 ** (attempt - 1))
    assert ceiling / 2 <= POLICY.delay(attempt, jitter) <= ceiling


def test_backoff_grows() -> None:
    assert [POLICY.delay(a, 0.0) for a in (1, 2, 3, 4)] == [1, 2, 4, 8]


def test_decisions_before_and_after_a_send() -> None:
    now = local(10)

    def verdict(**kw: object) -> Verdict:
        args: dict[str, object] = {
            "opted_out": False,
            "has_address": True,
            "attempts": 0,
            "policy": POLICY,
            "release_at": now,
            "now": now,
        }
        return before_send(**(args | kw))  # type: ignore[arg-type]

    assert verdict() == Verdict.SEND
    assert verdict(opted_out=True) == Verdict.SUPPRESS
    assert verdict(has_address=False) == Verdict.GIVE_UP
    assert verdict(attempts=5) == Verdict.GIVE_UP
    assert verdict(release_at=now + timedelta(hours=1)) == Verdict.DEFER
    assert after_failure(1, POLICY, permanent=False) == Verdict.SEND
    assert after_failure(5, POLICY, permanent=False) == Verdict.GIVE_UP
    assert after_failure(1, POLICY, permanent=True) == Verdict.GIVE_UP


# --------------------------------------------------------------- rate limits


def test_a_token_bucket_spaces_sends_after_its_burst() -> None:
    bucket = TokenBucket(rate=10, burst=2)
    waits = [bucket.reserve(100.0) for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0.1, 0.2, 0.3])
    assert bucket.reserve(101.0) == 0  # refilled after a quiet second


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0)


# --------------------------------------------------------------------- replies


@pytest.mark.parametrize(
    "reply", ["TU CHOI", "tu choi", "Từ chối", "TỪ CHỐI!", "  stop ", "Hủy", "tuchoi"]
)
def test_stop_keywords(reply: str) -> None:
    assert is_opt_out(reply)


@pytest.mark.parametrize("reply", ["Cảm ơn", "Huy đây", "stop by tomorrow", "", "OK"])
def test_other_replies_are_not_opt_outs(reply: str) -> None:
    assert not is_opt_out(reply)
