"""Quiet hours: no non-urgent SMS inside the window; held messages go out when it ends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from motcua.devtools.sinks import HttpMessage, HttpSink
from motcua.services.notify.settings import CenterOverrides
from tests.integration.notify.harness import (
    Notify,
    dossier_received,
    e164,
    random_phone,
    sms_notify,
    ticket_called,
    ticket_issued,
)
from tests.support.waiting import eventually

notify = sms_notify(retry_base_seconds=1.0)


def quiet_center(n: Notify, seconds_left: float) -> tuple[str, datetime]:
    """A center whose quiet hours began an hour ago and end in ``seconds_left``.

    Set on the running service (its settings are read per message), so that the
    window is still open whatever the start-up took.
    """
    tz = ZoneInfo(n.settings.timezone)
    now = datetime.now(tz)
    end = (now + timedelta(seconds=seconds_left)).replace(microsecond=0)
    center = f"q-{uuid.uuid4().hex[:8]}"
    n.settings.centers[center] = CenterOverrides(
        quiet_hours_start=(now - timedelta(hours=1)).time(), quiet_hours_end=end.time()
    )
    return center, end.astimezone(UTC)


async def messages(sink: HttpSink, phone: str) -> list[HttpMessage]:
    return sink.to(e164(phone))


async def test_urgent_queue_messages_go_out_during_quiet_hours(
    notify: Notify, http_sink: HttpSink
) -> None:
    center, _ = quiet_center(notify, seconds_left=600)
    phone = random_phone()
    ticket = ticket_issued(center, "A", "A001", phone=phone)
    await notify.publish(ticket, ticket_called(ticket))
    [called] = await eventually(lambda: messages(http_sink, phone), what="the call")
    assert called.body.startswith("Mời số A001 đến quầy 3.")


async def test_a_non_urgent_sms_waits_for_the_end_of_quiet_hours(
    notify: Notify, http_sink: HttpSink
) -> None:
    center, end = quiet_center(notify, seconds_left=4)
    phone = random_phone()
    _, received = dossier_received(center, phone=phone)
    await notify.publish(received)
    await eventually(lambda: notify.consumed(received.event_id), what="consumed")
    [held] = await notify.deliveries(received.event_id)
    assert (held["status"], held["due_at"]) == ("pending", end)
    assert await messages(http_sink, phone) == []  # nothing during the window

    [message] = await eventually(lambda: messages(http_sink, phone), what="the morning send")
    assert message.received_at >= end.timestamp()
    [attempt] = await eventually(lambda: notify.attempts(held["id"]), what="the attempt logged")
    assert attempt["outcome"] == "sent"
    assert attempt["started_at"] >= end


async def test_quiet_hours_starting_after_a_message_was_recorded_hold_it_too(
    notify: Notify, http_sink: HttpSink
) -> None:
    """The worker checks again at send time, and logs the deferral."""
    center = f"q-{uuid.uuid4().hex[:8]}"
    # Hold the gateway so the message is still unsent when the window opens.
    http_sink.fail_next["/sms"] = 1
    phone = random_phone()
    _, received = dossier_received(center, phone=phone)
    await notify.publish(received)

    async def first_failure() -> list[object]:
        found = await notify.deliveries(received.event_id)
        return list(await notify.attempts(found[0]["id"])) if found else []

    await eventually(first_failure, what="a failed first try")
    same, end = quiet_center(notify, seconds_left=3)
    notify.settings.centers[center] = notify.settings.centers.pop(same)
    [message] = await eventually(lambda: messages(http_sink, phone), what="the held message")
    assert message.received_at >= end.timestamp()
    [delivery] = await notify.sent(received.event_id)
    outcomes = [a["outcome"] for a in await notify.attempts(delivery["id"])]
    assert outcomes[0] == "failed"
    assert outcomes[-1] == "sent"
    assert "deferred" in outcomes
