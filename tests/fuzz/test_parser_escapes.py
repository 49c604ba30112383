"""Two small messages once made the parsers raise something other than their error
class, and a consumer that met one stopped for good; these tests keep it fixed.

``parse_event`` promises "a typed envelope, or a clear EventError" and
``parse_command`` "a typed command, or a CommandError". Both broke that promise:

* JSON nested deeper than the decoder's recursion limit (a 4 KB ``[[[[…``, well
  under the 64 KiB limit) raises ``RecursionError`` from ``json.loads``, which
  they catch only as ``ValueError``;
* a timestamp whose conversion to UTC leaves the calendar (``0001-01-01T00:00:00+07:00``)
  raises ``OverflowError`` inside the ``_to_utc`` validators (pydantic turns only
  ``ValueError`` and ``AssertionError`` into a validation error).

``EventConsumer._parse`` and the command consumer's ``_parse`` caught only the
promised classes, so the exception left ``process``: the batch was NACKed, fetched
again and failed again, for ever. Nothing after it on the partition was applied,
nor anything in a batch that included it: the whole consumer stalled.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from motcua.devtools.bus import produce, read_all
from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.shared.bus.consumer import EventConsumer
from motcua.shared.events import catalog
from motcua.shared.events.commands import CommandError, parse_command
from motcua.shared.events.envelope import new_event
from motcua.shared.events.registry import EventError, parse_event
from motcua.shared.events.topics import DOSSIERS
from tests.fuzz.conftest import receipt
from tests.support.serving import serve
from tests.support.waiting import eventually

NESTED = b"[" * 4000
FAR = "0001-01-01T00:00:00+07:00"


def far_event() -> bytes:
    event = json.loads(
        new_event(catalog.CounterClosed(counter_id="Q1"), center_id="c", producer="p").to_bytes()
    )
    return json.dumps(event | {"occurred_at": FAR}).encode()


def far_command() -> bytes:
    return json.dumps(
        {
            "command_id": str(uuid.uuid4()),
            "command_type": "dossier.assign",
            "center_id": "c",
            "issued_by": "clerk",
            "issued_at": FAR,
            "dossier_id": str(uuid.uuid4()),
            "data": {"assignee": "officer"},
        }
    ).encode()


@pytest.mark.parametrize("poison", ["nested JSON", "timestamp out of range"])
def test_parse_event_refuses_with_an_event_error(poison: str) -> None:
    value = NESTED if poison == "nested JSON" else far_event()
    with pytest.raises(EventError):
        parse_event(value)


@pytest.mark.parametrize("poison", ["nested JSON", "timestamp out of range"])
def test_parse_command_refuses_with_a_command_error(poison: str) -> None:
    value = NESTED if poison == "nested JSON" else far_command()
    with pytest.raises(CommandError):
        parse_command(value)


class _Record:
    def __init__(self, value: bytes) -> None:
        self.topic, self.partition, self.offset = "dossier.events", 0, 7
        self.key: bytes | None = None
        self.value: bytes | None = value


@pytest.mark.parametrize("poison", ["nested JSON", "timestamp out of range"])
async def test_event_consumer_dead_letters_it(poison: str) -> None:
    sent: list[tuple[str, dict[str, str]]] = []

    async def publish(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        sent.append((topic, headers))

    def no_pool() -> Any:
        raise AssertionError("a malformed message needs no database")

    consumer = EventConsumer(name="probe", pool=no_pool, publish=lambda: publish)
    await consumer.process([_Record(NESTED if poison == "nested JSON" else far_event())])
    assert [t for t, _ in sent] == ["dossier.events.dlq"]


@pytest.mark.slow
async def test_a_nested_message_is_dead_lettered_and_the_next_event_applied(
    make_settings: Callable[..., Any], db: asyncpg.Connection
) -> None:
    """On the real broker: the deadlines consumer dead-letters the poison and flows on."""
    settings: DeadlinesSettings = make_settings(DeadlinesSettings)
    topic = DOSSIERS.topic(settings.kafka.topic_prefix)
    dlq = DOSSIERS.dlq(settings.kafka.topic_prefix)
    received = new_event(receipt("AFTER-POISON"), center_id="c", producer="intake")
    async with serve(create_app(settings)):
        await produce(
            settings.kafka.bootstrap_servers, topic, [NESTED, received.to_bytes()], partition=0
        )

        async def clock() -> int:
            n: int = await db.fetchval(
                "SELECT count(*) FROM deadlines.clocks WHERE dossier_id = $1",
                received.data.dossier_id,
            )
            return n

        await eventually(clock, until=lambda n: n == 1, timeout=60, what="the next event applied")
        dead = await eventually(
            lambda: read_all(settings.kafka.bootstrap_servers, dlq),
            until=lambda ms: any(m.value == NESTED for m in ms),
            what="the poison in the DLQ",
        )
    assert [m.headers["x-original-offset"] for m in dead if m.value == NESTED] == ["0"]
