"""Faults under steady load, checked against the ledger: 0 lost, 0 duplicated.

The same scenarios code as ``make chaos``, shorter: the five services run as OS
processes on the session's servers (a database and a topic prefix of their own),
a SIGKILL of notify lands mid-load, then poison and garbage go to every topic. The
broker is the suite's: Tansu, or Apache Kafka with ``MOTCUA_TEST_BROKER=kafka``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from chaos import scenarios
from chaos.check import check
from chaos.ledger import Ledger
from chaos.scan import scan
from chaos.scenarios import Outcome
from motcua.devtools import bus
from motcua.devtools.backends import Servers
from motcua.devtools.stack import CENTER, CONTACT_KEY, Stack
from motcua.shared.bus.kafka import takes_idempotence
from motcua.shared.crypto import seal
from motcua.shared.events import catalog
from motcua.shared.events.envelope import new_event
from motcua.shared.events.topics import DEADLINES, DOSSIERS, STREAMS
from tests.support.chaos_stack import stack_fixture
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow


stack = stack_fixture("module", "chaos")


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="module")
async def outcomes(stack: Stack, ledger: Ledger) -> dict[str, Outcome]:
    """Both CI scenarios, run once; the tests below read their outcome."""
    done = {}
    for scenario in scenarios.ci_scenarios():
        done[scenario.name] = await scenarios.run(
            stack,
            ledger,
            scenario,
            tickets_per_s=4,
            dossiers_per_s=2,
            settle_timeout=120,
        )
    return done


async def test_the_stack_runs_on_the_broker_the_suite_names(
    stack: Stack, test_servers: Servers
) -> None:
    """Apache Kafka (``MOTCUA_TEST_BROKER=kafka``) grants the services' relays an
    idempotent producer; Tansu does not. The services are told neither."""
    assert stack.kafka is not None
    assert stack.kafka.bootstrap_servers == test_servers.kafka_bootstrap
    assert await takes_idempotence(stack.kafka) is (test_servers.broker == "kafka")


async def test_sigkill_of_notify_mid_load_loses_and_duplicates_nothing(
    outcomes: dict[str, Outcome], stack: Stack
) -> None:
    outcome = outcomes["sigkill-notify"]
    assert any("SIGKILL notify" in note for note in outcome.notes)
    assert stack.processes["notify"].starts == 2  # killed, then started again
    assert outcome.load.tickets > 20
    assert outcome.load.dossiers > 10
    rows = {r.what: r for r in outcome.verdict.rows}
    assert rows["notifications"].sent > 20  # the kill had messages to lose
    assert outcome.verdict.lost == 0, outcome.verdict.problems
    assert outcome.verdict.duplicated == 0, outcome.verdict.problems
    assert all(r.accounted == r.sent for r in outcome.verdict.rows), outcome.verdict.rows
    assert outcome.ok, [*outcome.verdict.problems, *outcome.traffic.problems()]


async def test_poison_on_every_topic_lands_in_the_dlqs_and_the_flow_continues(
    outcomes: dict[str, Outcome], stack: Stack
) -> None:
    outcome = outcomes["poison"]
    assert outcome.poison is not None
    assert stack.kafka is not None
    by_stream = {a.topic.removeprefix(stack.kafka.topic_prefix): a for a in outcome.poison}
    assert set(by_stream) == {s.name for s in STREAMS}  # every topic
    queue = by_stream["queue.events"]
    assert queue.consumers == ("intake", "deadlines", "notify")
    assert queue.malformed > 0
    assert queue.expected_dead_letters == 3 * queue.malformed  # one copy per consumer group
    registry = by_stream["registry.events"]
    assert registry.consumers == ("queue", "intake", "deadlines")
    assert registry.dead_lettered == 3 * registry.malformed > 0
    for account in outcome.poison:
        assert account.dead_lettered == account.expected_dead_letters, account.misplaced
        assert not account.misplaced, account.misplaced
    commands = by_stream["intake.commands"]
    assert commands.rejected == commands.injected  # each answered by one command.rejected
    # The load went on through the garbage: every effect after it is there, once.
    assert outcome.verdict.lost == 0, outcome.verdict.problems
    assert outcome.verdict.duplicated == 0, outcome.verdict.problems
    assert outcome.ok, [*outcome.verdict.problems, *outcome.traffic.problems()]


async def test_no_phone_or_id_number_on_the_bus_or_in_the_logs(
    outcomes: dict[str, Outcome], stack: Stack, ledger: Ledger
) -> None:
    assert stack.kafka is not None
    assert outcomes
    result = await scan(stack.kafka, stack.log_files(), ledger)
    assert result.known > 100  # phone and ID numbers handed to the system
    assert result.records > 500
    assert result.log_lines > 20
    assert result.clean, sorted(result.hits)


async def test_the_checker_sees_a_lost_and_a_duplicated_effect(
    outcomes: dict[str, Outcome], stack: Stack, ledger: Ledger
) -> None:
    """The ledger check can fail: remove one effect and double another behind its back."""
    assert outcomes
    served = next(t for t in ledger.tickets if t.served)
    dossier = next(d for d in ledger.dossiers if len(d.done) > 1)
    conn = await asyncpg.connect(stack.db_url)
    try:
        await conn.execute(
            "DELETE FROM intake.served_tickets WHERE ticket_id = $1", served.ticket_id
        )
        await conn.execute(
            """
            INSERT INTO intake.dossier_history
                (dossier_id, seq, event_id, event_type, from_status, status, occurred_at,
                 actor, via, details)
            SELECT dossier_id, seq + 1000, gen_random_uuid(), event_type, from_status, status,
                   occurred_at, actor, via, details
            FROM intake.dossier_history WHERE dossier_id = $1 AND seq = 1
            """,
            dossier.dossier_id,
        )
        verdict = await check(stack, ledger)
    finally:
        await conn.close()
    rows = {r.what: r for r in verdict.rows}
    assert rows["tickets"].lost == 1
    assert rows["dossiers"].duplicated == 1
    assert not verdict.ok


async def test_an_overdue_flag_consumed_before_its_receipt_still_reaches_the_citizen(
    outcomes: dict[str, Outcome], stack: Stack
) -> None:
    assert outcomes  # after the scenarios: their checks must not see this dossier
    assert stack.kafka is not None
    prefix = stack.kafka.topic_prefix
    dossier = uuid.uuid4()
    phone = "0912718281"
    due = datetime(2026, 3, 2, 10, tzinfo=UTC)
    overdue = new_event(
        catalog.DeadlineOverdue(
            dossier_id=dossier,
            dossier_code="NC-ORDER-1",
            procedure_code="CT-BANSAO",
            due_at=due,
            new_appointment_at=due + timedelta(days=2),
        ),
        center_id=CENTER,
        producer="deadlines",
    )
    # Due far ahead for the deadlines service here, so that it emits no overdue flag
    # of its own: notify must make do with the one it consumed first, as in the race.
    now = datetime.now(UTC)
    received = new_event(
        catalog.DossierReceived(
            dossier_id=dossier,
            dossier_code="NC-ORDER-1",
            procedure_code="HT-XNTTHN-XACMINH",
            status=2,
            received_at=now,
            channel="counter",
            time_limit=catalog.TimeLimitSnapshot(amount=23, unit="working_days"),
            appointment_at=now + timedelta(days=40),
            contact=catalog.SealedContact(
                kind="phone", sealed=seal(CONTACT_KEY, phone, str(dossier))
            ),
        ),
        center_id=CENTER,
        producer="intake",
    )
    conn = await asyncpg.connect(stack.db_url)
    try:
        for event, topic in ((overdue, DEADLINES), (received, DOSSIERS)):
            await bus.send(
                stack.kafka, [(topic.topic(prefix), event.to_bytes(), str(dossier).encode(), None)]
            )
            await eventually(
                lambda e=event: conn.fetchval(
                    "SELECT count(*) FROM notify.inbox WHERE event_id = $1", e.event_id
                ),
                until=lambda n: n == 1,
                what=f"notify consumed {event.event_type}",
            )

        async def kinds() -> list[str]:
            rows = await conn.fetch(
                "SELECT kind FROM notify.deliveries WHERE subject_id = $1 ORDER BY kind", dossier
            )
            return [r["kind"] for r in rows]

        await eventually(
            kinds,
            until=lambda k: k == ["deadline_apology", "dossier_received"],
            timeout=15,
            what="the receipt message and the apology",
        )
    finally:
        await conn.close()
