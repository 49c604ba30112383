"""Assignment names a member of the center's staff directory (``docs/staff.md``): once
notify's ``staff.configured`` has loaded a directory, an assignee who is not an active
member is refused naming ``assignee``; before that, any assignee is taken."""

from __future__ import annotations

import uuid
from typing import Any

from motcua.devtools.bus import produce
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import StaffConfigured
from motcua.shared.events.topics import STAFF
from tests.integration.intake.support import Intake, command
from tests.support.waiting import eventually


def configured(center: str, staff_id: str, revision: int, active: bool = True) -> Envelope[Any]:
    member = StaffConfigured(
        staff_id=staff_id, department="tu-phap", role="officer", active=active, revision=revision
    )
    return new_event(member, center_id=center, producer="notify")


async def test_an_assignee_must_be_an_active_member_once_a_directory_is_loaded(
    intake: Intake,
) -> None:
    center = f"c{uuid.uuid4().hex[:8]}"

    async def assign(assignee: str) -> Any:
        dossier_id = (await intake.receive(center=center))["dossier"]["id"]
        return await intake.op(dossier_id, "assign", center=center, body={"assignee": assignee})

    # No directory yet: free text, as before (the migration path).
    assert (await assign("anyone")).status_code == 200

    # ``an`` left (revision 2); their older revision, consumed late, changes nothing.
    events = [
        configured(center, "binh", 1),
        configured(center, "an", 2, active=False),
        configured(center, "an", 1),
    ]
    for e in events:
        await produce(intake.bootstrap, intake.topic(STAFF), [e.to_bytes()], key=center.encode())

    async def consumed() -> bool:
        return bool(
            await intake.pg.fetchval(
                "SELECT EXISTS (SELECT 1 FROM inbox WHERE event_id = $1)", events[-1].event_id
            )
        )

    await eventually(consumed, what="the directory consumed")
    for refused in ("an", "anyone"):
        r = await assign(refused)
        assert r.status_code == 422, r.text
        assert r.json()["details"][0]["field"] == "assignee"
    assert (await assign("binh")).status_code == 200

    # A clerk app's command is held to the same rule, and told why.
    dossier_id = uuid.UUID((await intake.receive(center=center))["dossier"]["id"])
    refused = command("dossier.assign", {"assignee": "an"}, dossier_id=dossier_id, center=center)
    await intake.send(refused)
    [rejection] = await eventually(
        lambda: intake.rejections_of(str(refused.command_id)), what="the command refused"
    )
    assert "assignee 'an' is not an active member" in rejection["data"]["reason"]
