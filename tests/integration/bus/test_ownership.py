"""One owner, one topic: a consumer believes an event only on the topic its owner
writes. On the real broker and database, through a subscribed service."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import FastAPI

from motcua.devtools.bus import produce, read_all
from motcua.devtools.probe import assigned
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import DossierResolved
from motcua.shared.events.topics import DOSSIERS, QUEUE
from motcua.shared.settings import ServiceSettings
from tests.integration.bus.conftest import effects
from tests.support.waiting import eventually


def resolved(dossier_id: uuid.UUID) -> Envelope[Any]:
    payload = DossierResolved(
        dossier_id=dossier_id, dossier_code="D-9", procedure_code="P", status=9, outcome="approved"
    )
    return new_event(payload, center_id="c1", producer="intake")


async def test_an_event_on_a_topic_its_owner_does_not_write_is_dead_lettered_not_applied(
    probe_app: tuple[FastAPI, str], probe_settings: ServiceSettings, db: asyncpg.Connection
) -> None:
    bootstrap, prefix = probe_settings.kafka.bootstrap_servers, probe_settings.kafka.topic_prefix
    forged, genuine = resolved(uuid.uuid4()), resolved(uuid.uuid4())
    marker = assigned(uuid.uuid4(), 1)
    # A well-formed dossier.resolved on queue.events: whoever can write the queue's
    # topic must not be able to close a dossier (and falsify the on-time figures).
    await produce(bootstrap, QUEUE.topic(prefix), [forged.to_bytes()], key=b"c1")
    await produce(bootstrap, DOSSIERS.topic(prefix), [genuine.to_bytes(), marker.to_bytes()])

    rows = await eventually(lambda: effects(db), until=lambda r: len(r) == 2, what="two effects")
    assert {r["event_id"] for r in rows} == {genuine.event_id, marker.event_id}

    dead = await eventually(
        lambda: read_all(bootstrap, QUEUE.dlq(prefix)), what="the forged event dead-lettered"
    )
    assert [m.value for m in dead] == [forged.to_bytes()]
    error = dead[0].headers["x-error"]
    assert "dossier.resolved" in error
    assert QUEUE.topic(prefix) in error
    assert dead[0].headers["x-original-topic"] == QUEUE.topic(prefix)
    # Nothing of it was applied or claimed: the genuine owner can still publish that id.
    assert forged.event_id not in {r["event_id"] for r in await effects(db)}
    claimed = await db.fetchval(
        "SELECT count(*) FROM probe.inbox WHERE event_id = $1", forged.event_id
    )
    assert claimed == 0
    assert await read_all(bootstrap, DOSSIERS.dlq(prefix)) == []
