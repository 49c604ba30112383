"""Clerk-app commands on the real broker: applied once, bad ones rejected, never stuck."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from motcua.devtools.bus import read_all
from motcua.shared.events.commands import MAX_COMMAND_BYTES
from motcua.shared.events.topics import INTAKE_COMMANDS, INTAKE_RESULTS
from tests.integration.intake.support import Intake, command
from tests.support.waiting import eventually


async def _rejections(intake: Intake, command_id: str, n: int = 1) -> list[dict[str, Any]]:
    return await eventually(
        lambda: intake.rejections_of(command_id),
        until=lambda found: len(found) >= n,
        what=f"rejection of {command_id}",
    )


async def test_a_duplicate_command_has_no_second_effect(intake: Intake) -> None:
    dossier = uuid.uuid4()
    receive = command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=dossier)
    assign = command("dossier.assign", {"assignee": "officer-2"}, dossier_id=dossier)
    resolve = command("dossier.resolve", {"outcome": "approved"}, dossier_id=dossier)
    await intake.send(receive, receive, assign)
    await intake.send(assign, receive)  # redelivered later, out of band
    await intake.send(resolve)

    events = await intake.wait_events(dossier, 3)
    assert [e["event_type"] for e in events] == [
        "dossier.received",
        "dossier.assigned",
        "dossier.resolved",
    ]
    assert [e["causation_id"] for e in events] == [
        str(c.command_id) for c in (receive, assign, resolve)
    ]
    assert await intake.history_types(str(dossier)) == [e["event_type"] for e in events]
    outcomes = await intake.pg.fetch(
        "SELECT outcome FROM processed_commands WHERE dossier_id = $1", dossier
    )
    assert [r["outcome"] for r in outcomes] == ["applied"] * 3
    for c in (receive, assign, resolve):
        assert await intake.rejections_of(str(c.command_id)) == []


def _raw(c: Any, **changes: Any) -> bytes:
    doc = json.loads(c.to_bytes())
    for path, value in changes.items():
        target = doc
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return json.dumps(doc).encode()


BadCase = Callable[[Intake, uuid.UUID, uuid.UUID], tuple[bytes, str | None, str]]


def _unknown_procedure(
    intake: Intake, d: uuid.UUID, cid: uuid.UUID
) -> tuple[bytes, str | None, str]:
    c = command("dossier.receive", {"procedure_code": "NOPE"}, dossier_id=d, command_id=cid)
    return intake.sign(c).to_bytes(), str(cid), "unknown procedure 'NOPE'"


def _schema_invalid(intake: Intake, d: uuid.UUID, cid: uuid.UUID) -> tuple[bytes, str | None, str]:
    c = command("dossier.assign", {"assignee": "x"}, dossier_id=d, command_id=cid)
    return _raw(intake.sign(c), data__assignee=""), str(cid), "data.assignee"


def _unknown_type(intake: Intake, d: uuid.UUID, cid: uuid.UUID) -> tuple[bytes, str | None, str]:
    c = command("dossier.assign", {"assignee": "x"}, dossier_id=d, command_id=cid)
    return _raw(intake.sign(c), command_type="dossier.teleport"), str(cid), "unknown command type"


def _oversized(intake: Intake, d: uuid.UUID, cid: uuid.UUID) -> tuple[bytes, str | None, str]:
    c = command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=d, command_id=cid)
    raw = _raw(intake.sign(c), data__note="x" * (MAX_COMMAND_BYTES + 10))
    return raw, str(cid), f"the limit is {MAX_COMMAND_BYTES}"


def _future(intake: Intake, d: uuid.UUID, cid: uuid.UUID) -> tuple[bytes, str | None, str]:
    later = datetime.now(UTC) + timedelta(days=1)
    c = command(
        "dossier.receive",
        {"procedure_code": "HT-XNTTHN"},
        dossier_id=d,
        command_id=cid,
        issued_at=later,
    )
    return intake.sign(c).to_bytes(), str(cid), "in the future"


def _malformed(intake: Intake, d: uuid.UUID, cid: uuid.UUID) -> tuple[bytes, str | None, str]:
    return b'{"command_id": "' + str(cid).encode() + b'", oops', None, "not JSON"


BAD: dict[str, BadCase] = {
    "malformed": _malformed,
    "schema-invalid": _schema_invalid,
    "unknown-type": _unknown_type,
    "unknown-procedure": _unknown_procedure,
    "oversized": _oversized,
    "future": _future,
}


@pytest.mark.parametrize("case", list(BAD))
async def test_a_bad_command_is_rejected_once_and_the_next_one_flows(
    intake: Intake, case: str
) -> None:
    key = str(uuid.uuid4())  # one partition for the bad command and the good one after it
    bad, named, reason = BAD[case](intake, uuid.uuid4(), uuid.uuid4())
    good_dossier = uuid.uuid4()
    good = command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=good_dossier)
    started = datetime.now(UTC)
    await intake.send(bad, key=key)
    await intake.send(bad, key=key)  # a redelivery gets no second rejection
    await intake.send(good, key=key)

    await intake.wait_events(good_dossier, 1)
    if named is None:  # unreadable: keyed by where it sits on the topic
        found = await eventually(
            lambda: _rejections_like(intake, reason, since=started),
            until=lambda f: len(f) >= 2,
            what="both unreadable copies rejected",
        )
        # Two messages at two offsets: nothing tells them apart, so each is answered.
        assert len(found) == 2
        assert {r["data"]["command_id"].split("@")[0] for r in found} == {
            intake.topic(INTAKE_COMMANDS)
        }
    else:
        found = await _rejections(intake, named)
        assert len(found) == 1
        assert reason in found[0]["data"]["reason"]
        row = await intake.pg.fetchrow(
            "SELECT outcome, reason FROM processed_commands WHERE command_key = $1", f"bus:{named}"
        )
        assert row["outcome"] == "rejected"
        assert reason in row["reason"]
    assert all(r["event_type"] == "command.rejected" for r in found)


async def _rejections_like(intake: Intake, reason: str, *, since: datetime) -> list[dict[str, Any]]:
    return [
        r
        for r in await intake.rejections()
        if reason in r["data"]["reason"] and datetime.fromisoformat(r["occurred_at"]) >= since
    ]


async def test_a_command_needs_the_role_its_http_route_needs(intake: Intake) -> None:
    """The policy table holds on the bus as over HTTP: a clerk-signed resolve is refused
    with the role in the reason and changes nothing; the officer's goes through."""
    ours = (await intake.receive())["dossier"]["id"]
    dossier = uuid.UUID(ours)
    await intake.send(command("dossier.assign", {"assignee": "officer-1"}, dossier_id=dossier))
    by_clerk = command("dossier.resolve", {"outcome": "approved"}, dossier_id=dossier)
    await intake.send(by_clerk, role="clerk")
    [refused] = await _rejections(intake, str(by_clerk.command_id))
    assert refused["data"]["reason"] == "a clerk token may not dossier.resolve"
    by_officer = command("dossier.resolve", {"outcome": "approved"}, dossier_id=dossier)
    await intake.send(by_officer, role="officer")
    events = await intake.wait_events(dossier, 3)
    assert [e["event_type"] for e in events] == [
        "dossier.received",
        "dossier.assigned",
        "dossier.resolved",
    ]


async def test_commands_that_break_the_rules_are_rejected_with_the_reason(
    intake: Intake,
) -> None:
    ours = (await intake.receive())["dossier"]["id"]
    dossier = uuid.UUID(ours)
    foreign = command(
        "dossier.assign", {"assignee": "intruder"}, dossier_id=dossier, center="other-ward"
    )
    too_early = command("dossier.return_result", {}, dossier_id=dossier)
    nowhere = command("dossier.assign", {"assignee": "x"}, dossier_id=uuid.uuid4())
    marker = command("dossier.assign", {"assignee": "officer-3"}, dossier_id=dossier)
    await intake.send(foreign, too_early, nowhere, marker)

    await intake.wait_events(dossier, 2)  # received, then the marker's assignment
    [r_foreign] = await _rejections(intake, str(foreign.command_id))
    [r_early] = await _rejections(intake, str(too_early.command_id))
    [r_nowhere] = await _rejections(intake, str(nowhere.command_id))
    assert "another center" in r_foreign["data"]["reason"]
    assert r_foreign["center_id"] == "other-ward"
    assert r_foreign["data"]["dossier_id"] == ours
    assert "cannot return_result" in r_early["data"]["reason"]
    assert "allowed: assign" in r_early["data"]["reason"]
    assert r_nowhere["data"]["reason"] == "no such dossier"
    assert r_early["causation_id"] == str(too_early.command_id)
    keys = {m.key for m in await read_all(intake.bootstrap, intake.topic(INTAKE_RESULTS))}
    assert {str(c.command_id).encode() for c in (foreign, too_early, nowhere)} <= keys
    detail = await intake.dossier(ours)
    assert detail["assignee"] == "officer-3"
    assert [h["event_type"] for h in detail["history"]] == ["dossier.received", "dossier.assigned"]


async def test_a_receipt_dated_outside_the_calendar_is_rejected_with_the_reason(
    intake: Intake,
) -> None:
    # The holiday data ends; a date past it cannot be counted in working days.
    ancient = command(
        "dossier.receive",
        {"procedure_code": "HT-XNTTHN"},
        dossier_id=uuid.uuid4(),
        issued_at=datetime(1850, 3, 2, 9, tzinfo=UTC),
    )
    await intake.send(ancient, role="admin")  # backdated: a data migration
    [rejection] = await _rejections(intake, str(ancient.command_id))
    assert "outside the years" in rejection["data"]["reason"]
    assert "could not be applied" not in rejection["data"]["reason"]
