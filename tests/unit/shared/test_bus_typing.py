"""The bus is typed: the type checker refuses a handler registered for the wrong payload.

``EventConsumer.on(Payload, handler)`` ties the handler's envelope to the payload class,
so a slip such as giving the ``dossier.received`` handler the ``ticket.called`` events
is a type error, found before anything runs. This runs mypy, with the project's own
configuration and cache, once on a small module holding right and wrong registrations,
and checks that it reports exactly the wrong ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[3]

MODULE = """
from collections.abc import Sequence

import asyncpg

from motcua.shared.bus.consumer import EventConsumer
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import (
    DossierFacts,
    DossierReceived,
    DossierResolved,
    TicketCalled,
)


async def handle_dossier_received(
    conn: asyncpg.Connection, event: Envelope[DossierReceived]
) -> None:
    del conn, event


async def handle_any_dossier_event(
    conn: asyncpg.Connection, event: Envelope[DossierFacts]
) -> None:
    del conn, event


async def handle_receipts(
    conn: asyncpg.Connection, events: Sequence[Envelope[DossierReceived]]
) -> None:
    del conn, events


def register(consumer: EventConsumer) -> None:
    consumer.on(DossierReceived, handle_dossier_received)
    consumer.on(DossierResolved, handle_any_dossier_event)  # a base class takes its events
    consumer.on_batch(DossierReceived, handle_receipts)
    consumer.on(TicketCalled, handle_dossier_received)  # wrong
    consumer.on(TicketCalled, handle_any_dossier_event)  # wrong
    consumer.on_batch(DossierResolved, handle_receipts)  # wrong
"""


def test_mypy_refuses_a_handler_registered_for_the_wrong_payload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "registrations.py"
    module.write_text(MODULE)
    wrong = {n for n, line in enumerate(MODULE.splitlines(), 1) if line.endswith("# wrong")}
    monkeypatch.chdir(ROOT)  # the project's .mypy_cache: only the small module is checked anew

    out, err, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), str(module)])

    flagged = {int(n) for n in re.findall(r"registrations\.py:(\d+): error", out)}
    assert status == 1, out + err
    assert flagged == wrong, out
