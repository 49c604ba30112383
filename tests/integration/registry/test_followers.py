"""Queue, intake and deadlines follow the registry without a restart: a new center, a
new day off and a renamed counter take effect at once; the receipt's appointment and the
legal clock agree on the center's calendar; a stale or duplicate event changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from motcua.devtools.bus import produce, read_all
from motcua.services.queue.app import create_app as create_queue
from motcua.shared.calendar import TimeLimit, TimeUnit, WorkingCalendar
from motcua.shared.events import new_event
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.events.topics import REGISTRY
from tests.integration.registry.conftest import Stack, center_document
from tests.support.serving import serve
from tests.support.waiting import eventually

FOLLOWERS = ("queue", "intake", "deadlines")


async def all_hold(stack: Stack, center_id: str, revision: int) -> None:
    async def revisions() -> list[int | None]:
        return [await stack.held(schema, center_id) for schema in FOLLOWERS]

    await eventually(
        revisions,
        until=lambda held: held == [revision] * len(FOLLOWERS),
        what=f"every follower at revision {revision} of {center_id}",
    )


async def queue_center(stack: Stack, center_id: str) -> dict[str, Any]:
    async with stack.client("queue") as http:
        r = await http.get(f"/centers/{center_id}")
        return {"status": r.status_code, **(r.json() if r.status_code == 200 else {})}


async def test_a_new_center_and_its_day_off_reach_every_service_without_restart(
    stack: Stack,
) -> None:
    center = "follow-new"
    # The next working day on the national calendar becomes this center's day off: a
    # 3-working-day procedure received now then ends one working day later.
    national = WorkingCalendar.default()
    today = datetime.now(UTC).astimezone(national.tz).date()
    day_off = national.next_working_day(today)
    assert (await queue_center(stack, center))["status"] == 404
    document = center_document(center, code="FN", calendar={"extra_days_off": [str(day_off)]})
    async with stack.client("registry") as http:
        r = await http.put(f"/v1/centers/{center}", json=document, headers=stack.auth(center))
        assert r.status_code == 200, r.text
    await all_hold(stack, center, 1)
    # Queue: the center is served, with its lines and counters (no restart).
    served = await eventually(
        lambda: queue_center(stack, center), until=lambda c: c["status"] == 200, what="queue"
    )
    assert [c["counter_id"] for c in served["counters"]] == ["Q1", "Q2"]
    # Queue's bookable slots follow the same calendar: none on the center's day off,
    # while the next working day has them.
    after = national.next_working_day(day_off)
    async with stack.client("queue") as http:
        on_day_off = await http.get(f"/centers/{center}/lines/justice/slots?day={day_off}")
        on_next_day = await http.get(f"/centers/{center}/lines/justice/slots?day={after}")
    assert on_day_off.status_code == 200, on_day_off.text
    assert on_day_off.json() == []
    assert on_next_day.status_code == 200, on_next_day.text
    assert on_next_day.json() != []
    # Intake: the dossier code carries the center's code; the appointment its calendar.
    async with stack.client("intake") as http:
        r = await http.post(
            "/v1/dossiers",
            json={"procedure_code": "HT-XNTTHN", "applicant_name": "Nguyễn Văn A"},
            headers=stack.auth(center, role="clerk", subject="clerk-1"),
        )
        assert r.status_code in (200, 201), r.text
        dossier = r.json()["dossier"]
    assert "FN" in dossier["code"]
    appointment = datetime.fromisoformat(dossier["appointment_at"])
    received = datetime.fromisoformat(dossier["received_at"])
    on_national = national.due_at(received, TimeLimit(3, TimeUnit.WORKING_DAYS))
    assert appointment > on_national  # the day off counts
    # Deadlines: the legal clock runs on the same calendar and ends on the same instant.
    async with stack.client("deadlines") as http:

        async def clock() -> dict[str, Any]:
            r = await http.get(
                f"/v1/dossiers/{dossier['id']}/clock", headers=stack.auth(center, role="leader")
            )
            return {"status": r.status_code, **(r.json() if r.status_code == 200 else {})}

        found = await eventually(clock, until=lambda c: c["status"] == 200, what="the clock")
    assert datetime.fromisoformat(found["due_at"]) == appointment


async def test_a_change_applies_and_stale_or_duplicate_events_change_nothing(
    stack: Stack,
) -> None:
    center = "follow-change"
    admin = stack.auth(center)
    async with stack.client("registry") as http:
        await http.put(f"/v1/centers/{center}", json=center_document(center), headers=admin)
        renamed = center_document(center, name="Tên thứ hai")
        renamed["counters"][1]["name"] = "Quầy hai"
        r = await http.put(f"/v1/centers/{center}", json=renamed, headers=admin | {"If-Match": "1"})
        assert r.json()["revision"] == 2, r.text
    await all_hold(stack, center, 2)
    served = await eventually(
        lambda: queue_center(stack, center),
        until=lambda c: c.get("name") == "Tên thứ hai",
        what="queue renamed",
    )
    assert served["counters"][1]["name"] == "Quầy hai"
    applied_at = await stack.db.fetchval(
        "SELECT applied_at FROM queue.registry_centers WHERE center_id = $1", center
    )
    # A late revision 1 and a second event carrying revision 2: both processed, neither
    # applied.
    late = CenterConfigured.model_validate({**center_document(center, name="Cũ"), "revision": 1})
    again = CenterConfigured.model_validate({**renamed, "revision": 2})
    events = [new_event(p, center_id=center, producer="registry") for p in (late, again)]
    await produce(
        stack.kafka.bootstrap_servers,
        REGISTRY.topic(stack.kafka.topic_prefix),
        [e.to_bytes() for e in events],
        key=center.encode(),
    )
    ids = [e.event_id for e in events]

    async def processed() -> list[int]:
        return [
            await stack.db.fetchval(
                f'SELECT count(*) FROM "{schema}".inbox WHERE event_id = ANY($1::uuid[])', ids
            )
            for schema in FOLLOWERS
        ]

    await eventually(processed, until=lambda n: n == [2, 2, 2], what="both events consumed")
    for schema in FOLLOWERS:
        assert await stack.held(schema, center) == 2
    assert (
        await stack.db.fetchval(
            "SELECT applied_at FROM queue.registry_centers WHERE center_id = $1", center
        )
        == applied_at
    )
    assert (await queue_center(stack, center))["name"] == "Tên thứ hai"
    name = await stack.db.fetchval(
        "SELECT name FROM deadlines.centers WHERE center_id = $1", center
    )
    assert name == "Tên thứ hai"


async def test_a_restarted_or_second_instance_knows_the_centers_from_its_schema(
    stack: Stack,
) -> None:
    center = "follow-restart"
    async with stack.client("registry") as http:
        r = await http.put(
            f"/v1/centers/{center}", json=center_document(center), headers=stack.auth(center)
        )
        assert r.status_code == 200, r.text
    await all_hold(stack, center, 1)
    # A new queue process on the same schema (a restart, or another replica that the
    # event never reached) serves the center from what the running one stored.
    settings = stack.apps["queue"].state.runtime.settings
    async with serve(create_queue(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        r = await http.get(f"/centers/{center}")
        assert r.status_code == 200, r.text
        assert r.json()["name"] == f"Trung tâm {center}"


async def test_an_event_whose_payload_names_another_center_is_dead_lettered(
    stack: Stack,
) -> None:
    forged = CenterConfigured.model_validate({**center_document("follow-victim"), "revision": 7})
    event = new_event(forged, center_id="follow-other", producer="registry")
    await produce(
        stack.kafka.bootstrap_servers,
        REGISTRY.topic(stack.kafka.topic_prefix),
        [event.to_bytes()],
        key=b"follow-other",
    )

    async def dead_lettered() -> list[str]:
        records = await read_all(
            stack.kafka.bootstrap_servers, REGISTRY.dlq(stack.kafka.topic_prefix)
        )
        return [r.value.decode() for r in records if str(event.event_id) in r.value.decode()]

    await eventually(dead_lettered, until=lambda found: len(found) >= 1, what="dead-lettered")
    for schema in FOLLOWERS:
        assert await stack.held(schema, "follow-victim") is None
