"""The dossier's legal record (docs/portal-statuses.md): the operations that reach each
portal code through ``intake.commands`` (the HTTP route of each is in
test_transitions), supplement requests counted per dossier, and the appointment
following the legal clock."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

from motcua.devtools.bus import produce
from motcua.services.intake.receipt import vi_datetime
from motcua.shared.events.catalog import DeadlineSet, DeadlineUpdated
from motcua.shared.events.envelope import new_event
from motcua.shared.events.topics import DEADLINES
from tests.integration.intake.support import CENTER, Intake, command
from tests.support.waiting import eventually


def _moves(events: list[dict[str, Any]]) -> list[tuple[str, int, int | None]]:
    return [(e["event_type"], e["data"]["status"], e["data"].get("portal_status")) for e in events]


async def _rejection(intake: Intake, command_id: uuid.UUID) -> str:
    found = await eventually(
        lambda: intake.rejections_of(str(command_id)), what=f"rejection of {command_id}"
    )
    reason: str = found[0]["data"]["reason"]
    return reason


# ------------------------------------------------------------ operations, on the bus


async def test_an_online_submission_is_accepted_by_command_and_its_clock_starts_then(
    intake: Intake,
) -> None:
    submitted = await intake.submit_online()
    dossier = uuid.UUID(submitted["dossier_id"])
    accepted_at = datetime.now(UTC)
    await intake.send(command("dossier.accept", {}, dossier_id=dossier, issued_at=accepted_at))

    events = await intake.wait_events(dossier, 2)
    assert _moves(events) == [("dossier.submitted", 1, 1), ("dossier.received", 2, 2)]
    received = events[1]["data"]
    # The legal clock starts at acceptance: the receipt is dated then, and so is the
    # appointment counted from it.
    assert datetime.fromisoformat(received["received_at"]) == accepted_at
    view = await intake.dossier(str(dossier))
    assert datetime.fromisoformat(view["received_at"]) == accepted_at
    assert view["appointment_at"] == received["appointment_at"]
    assert received["contact"]["kind"] == "phone"  # consent given: notify can tell them


async def test_an_online_submission_not_accepted_by_command_cannot_be_accepted_after(
    intake: Intake,
) -> None:
    dossier = uuid.UUID((await intake.submit_online())["dossier_id"])
    refuse = command("dossier.not_accept", {"reason": "Sai thủ tục đã chọn"}, dossier_id=dossier)
    await intake.send(refuse)
    events = await intake.wait_events(dossier, 2)
    assert _moves(events)[1] == ("dossier.not_accepted", 11, 3)
    assert events[1]["data"]["reason"] == "Sai thủ tục đã chọn"

    late = command("dossier.accept", {}, dossier_id=dossier)
    await intake.send(late)
    assert "cannot accept a dossier in status 11 (not_accepted)" in await _rejection(
        intake, late.command_id
    )
    assert len(await intake.dossier_events(dossier)) == 2


async def test_transfer_and_back_then_rework_by_command_keep_the_portal_in_process(
    intake: Intake,
) -> None:
    dossier = uuid.uuid4()
    await intake.send(
        command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=dossier),
        command("dossier.transfer", {"to_agency": "Công an phường"}, dossier_id=dossier),
        command("dossier.transfer_back", {"from_agency": "Công an phường"}, dossier_id=dossier),
        command("dossier.return_for_rework", {"reason": "Sai tên"}, dossier_id=dossier),
    )
    events = await intake.wait_events(dossier, 4)
    assert _moves(events) == [
        ("dossier.received", 2, 2),
        ("dossier.transferred", 4, 4),
        ("dossier.transfer_returned", 3, 4),
        ("dossier.returned_for_rework", 7, 4),
    ]
    assert events[1]["data"]["to_agency"] == "Công an phường"


async def test_rework_is_a_reviewers_act_not_a_clerks(intake: Intake) -> None:
    dossier = uuid.uuid4()
    await intake.send(
        command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=dossier),
        command("dossier.assign", {"assignee": "officer-1"}, dossier_id=dossier),
    )
    await intake.wait_events(dossier, 2)
    by_clerk = command("dossier.return_for_rework", {"reason": "x"}, dossier_id=dossier)
    await intake.send(by_clerk, role="clerk")
    assert "may not dossier.return_for_rework" in await _rejection(intake, by_clerk.command_id)
    r = await intake.http.post(
        f"/v1/dossiers/{dossier}/return-for-rework",
        json={"reason": "x"},
        headers=intake.auth(CENTER, role="clerk"),
    )
    assert r.status_code == 403


async def test_withdrawal_by_command_is_the_portals_withdrawn_not_stopped(
    intake: Intake,
) -> None:
    online = uuid.UUID((await intake.submit_online())["dossier_id"])
    counter = uuid.uuid4()
    await intake.send(
        command("dossier.withdraw", {"reason": "Không còn nhu cầu"}, dossier_id=online),
        command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=counter),
        command("dossier.withdraw", {}, dossier_id=counter),
    )
    assert _moves(await intake.wait_events(online, 2))[1] == ("dossier.withdrawn", 12, 7)
    assert _moves(await intake.wait_events(counter, 2))[1] == ("dossier.withdrawn", 12, 7)


# ------------------------------------------------------------ supplements, counted


async def test_each_supplement_request_is_counted_and_the_second_is_flagged(
    intake: Intake,
) -> None:
    dossier_id = (await intake.receive())["dossier"]["id"]
    await intake.drive(dossier_id, ["assign", "request_supplement"])
    once = await intake.dossier(dossier_id)
    assert (once["supplement_requests"], once["repeated_supplement"]) == (1, False)
    await intake.drive(dossier_id, ["provide_supplement", "request_supplement"])
    twice = await intake.dossier(dossier_id)
    assert (twice["supplement_requests"], twice["repeated_supplement"]) == (2, True)
    listed = await intake.http.get("/v1/dossiers?status=5", headers=intake.auth(CENTER))
    [mine] = [d for d in listed.json() if d["id"] == dossier_id]
    assert mine["supplement_requests"] == 2

    events = await intake.wait_events(dossier_id, 5)
    counts = [
        e["data"]["supplement_count"]
        for e in events
        if e["event_type"] == "dossier.supplement_requested"
    ]
    assert counts == [1, 2]


async def test_supplement_requests_by_command_are_counted_the_same(intake: Intake) -> None:
    dossier = uuid.uuid4()
    ask = {"reason": "Thiếu giấy tờ"}
    await intake.send(
        command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=dossier),
        command("dossier.request_supplement", ask, dossier_id=dossier),
        command("dossier.provide_supplement", {}, dossier_id=dossier),
        command("dossier.request_supplement", ask, dossier_id=dossier),
    )
    events = await intake.wait_events(dossier, 4)
    assert [e["data"].get("supplement_count") for e in events[1::2]] == [1, 2]
    assert (await intake.dossier(str(dossier)))["repeated_supplement"] is True


# ------------------------------------------------------------ the appointment follows


async def _clock(
    intake: Intake,
    received: dict[str, Any],
    due: datetime,
    *,
    at: datetime,
    reason: str = "extension",
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """deadlines announcing a changed clock for ``received``, as deadlines would."""
    d = received["dossier"]
    facts = {
        "dossier_id": d["id"],
        "dossier_code": d["code"],
        "procedure_code": d["procedure"]["code"],
        "due_at": due,
    }
    payload = (
        DeadlineSet(**facts)
        if reason == "set"
        else DeadlineUpdated(
            **facts, previous_due_at=datetime.fromisoformat(d["appointment_at"]), reason=reason
        )
    )
    event = new_event(
        payload, center_id=CENTER, producer="deadlines", occurred_at=at, event_id=event_id
    )
    await produce(
        intake.bootstrap, intake.topic(DEADLINES), [event.to_bytes()], key=d["id"].encode()
    )
    return event.event_id


async def _appointment_is(intake: Intake, dossier_id: str, due: datetime) -> dict[str, Any]:
    view: dict[str, Any] = await eventually(
        lambda: intake.dossier(dossier_id),
        until=lambda v: datetime.fromisoformat(v["appointment_at"]) == due,
        what=f"appointment {due}",
    )
    return view


async def test_the_appointment_follows_the_clock_in_the_view_lookup_and_receipt(
    intake: Intake,
) -> None:
    received = await intake.receive()
    dossier_id = received["dossier"]["id"]
    first = datetime.fromisoformat(received["dossier"]["appointment_at"])
    later = first + timedelta(days=3)
    now = datetime.now(UTC)
    event_id = await _clock(intake, received, later, at=now)

    view = await _appointment_is(intake, dossier_id, later)
    change = view["history"][-1]
    assert change["event_type"] == "appointment.changed"
    assert change["details"]["reason"] == "extension"

    found = await intake.lookup(received["dossier"]["code"], received["secret"])
    looked = found.json()
    assert datetime.fromisoformat(looked["appointment_at"]) == later
    step = looked["timeline"][-1]
    assert datetime.fromisoformat(step["appointment_at"]) == later
    assert step["label_en"] == "Appointment date changed"
    assert "actor" not in step

    # The citizen's page shows the new date in the timeline, in either language.
    form = {"code": received["dossier"]["code"], "secret": received["secret"]}
    tz = intake.wiring.intake.calendar.tz
    for lang, words in (("vi", "ngày hẹn mới"), ("en", "new appointment")):
        page = await intake.http.post(f"/lookup?lang={lang}", data=form)
        assert page.status_code == 200, page.text
        [shown] = re.findall(r'data-testid="timeline-appointment">(.*?)</span>', page.text)
        text = unescape(re.sub("<[^>]+>", "", shown))
        assert text.startswith(f"{words}: ")
        if lang == "vi":
            assert text == f"{words}: {vi_datetime(later, tz)}"

    receipt = await intake.http.get(
        f"/v1/dossiers/{dossier_id}/receipt", headers=intake.auth(CENTER)
    )
    assert vi_datetime(later, intake.wiring.intake.calendar.tz) in receipt.text
    assert vi_datetime(first, intake.wiring.intake.calendar.tz) not in receipt.text

    # The same event again (a redelivery, under a new envelope id or the same one) and an
    # older clock event that arrives late leave the date and the history as they are.
    await _clock(intake, received, later, at=now, event_id=event_id)
    stale = await _clock(intake, received, first + timedelta(days=1), at=now - timedelta(hours=1))
    marker = await _clock(intake, received, later, at=now + timedelta(seconds=1), reason="pause")
    await eventually(
        lambda: intake.pg.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", marker),
        what="the last clock event consumed",
    )
    again = await intake.dossier(dossier_id)
    assert datetime.fromisoformat(again["appointment_at"]) == later
    assert [h["event_type"] for h in again["history"]].count("appointment.changed") == 1
    assert (
        await intake.pg.fetchval("SELECT count(*) FROM dossier_history WHERE event_id = $1", stale)
        == 0
    )


async def test_a_clock_set_on_the_same_date_adds_nothing(intake: Intake) -> None:
    received = await intake.receive()
    dossier_id = received["dossier"]["id"]
    same = datetime.fromisoformat(received["dossier"]["appointment_at"])
    marker = await _clock(intake, received, same, at=datetime.now(UTC), reason="set")
    await eventually(
        lambda: intake.pg.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", marker),
        what="the clock event consumed",
    )
    view = await intake.dossier(dossier_id)
    assert [h["event_type"] for h in view["history"]] == ["dossier.received"]


async def test_a_new_move_without_what_it_needs_is_a_422_naming_the_field(
    intake: Intake,
) -> None:
    dossier_id = (await intake.receive())["dossier"]["id"]
    for op, body, field in (
        ("transfer", {}, "to_agency"),
        ("transfer", {"to_agency": ""}, "to_agency"),
        ("return_for_rework", {"reason": ""}, "reason"),
        ("not_accept", {}, "reason"),
        ("accept", {"surprise": 1}, "surprise"),
    ):
        r = await intake.op(dossier_id, op, body=body)
        assert r.status_code == 422, (op, r.text)
        assert r.json()["details"][0]["field"].endswith(field), (op, r.text)
    assert (await intake.dossier(dossier_id))["status"]["code"] == 2
