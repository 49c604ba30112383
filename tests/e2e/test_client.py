"""The clerk-app client library (clients/python) against a running `motcua dev`.

Only the client is used to talk to the stack, as a vendor's app would: a token from
`motcua token`, commands over the bus, clerk calls over HTTP, and the desk example
run as its own program.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from motcua_client import (
    ApiError,
    ClerkClient,
    ClerkCredentials,
    CommandPublisher,
    Commands,
    RejectionWatcher,
)

from tests.e2e.conftest import DevStack
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
DESK = ROOT / "clients" / "python" / "examples" / "desk.py"
CENTER = "nam-cuong"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]  # what a clerk app is configured with
    intake_url: str
    queue_url: str
    bootstrap: str


@pytest.fixture
def stack(dev_stack: DevStack) -> Stack:
    """The running `motcua dev` (no simulation), shared with the other tests that only
    need one running; what a clerk app is configured with to reach it."""
    return Stack(
        env={
            **dev_stack.env,
            "MOTCUA_INTAKE_URL": dev_stack.urls["intake"],
            "MOTCUA_KAFKA_BOOTSTRAP_SERVERS": dev_stack.bootstrap,
        },
        intake_url=dev_stack.urls["intake"],
        queue_url=dev_stack.urls["queue"],
        bootstrap=dev_stack.bootstrap,
    )


def issue(stack: Stack, subject: str, role: str = "clerk") -> ClerkCredentials:
    """A token the way a center issues one: `motcua token`."""
    done = subprocess.run(
        [sys.executable, "-m", "motcua.devtools.cli", "token", "--center", CENTER,
         "--subject", subject, "--role", role],
        env={**stack.env, "MOTCUA_DEV_MODE": "true"}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return ClerkCredentials.from_token(done.stdout.strip())


@pytest.fixture
async def clerk(stack: Stack) -> AsyncIterator[tuple[Commands, ClerkClient]]:
    creds = issue(stack, "clerk-client-1")
    async with ClerkClient(creds, intake_url=stack.intake_url, queue_url=stack.queue_url) as api:
        yield Commands(creds), api


def test_the_desk_example_receives_over_the_bus_and_prints_the_receipt(stack: Stack) -> None:
    token = issue(stack, "clerk-desk").token
    done = subprocess.run(
        [sys.executable, str(DESK), "CT-BANSAO"], env={**stack.env, "MOTCUA_TOKEN": token},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "PHIẾU TIẾP NHẬN" in done.stdout
    assert "Nguyễn Văn An" in done.stdout
    assert "Ngày hẹn trả / appointment:" in done.stdout
    assert "/receipt" in done.stdout


async def test_bus_commands_apply_once_in_order(
    stack: Stack, clerk: tuple[Commands, ClerkClient]
) -> None:
    commands, api = clerk
    receive = commands.receive(procedure_code="HT-KHAISINH", applicant_name="B")
    assign = commands.assign(receive.dossier_id, assignee="officer-7")
    supplement = commands.request_supplement(
        receive.dossier_id, reason="thiếu giấy chứng sinh", missing_documents=["giấy chứng sinh"]
    )
    async with CommandPublisher(stack.bootstrap) as bus:
        await bus.send(receive)
        await bus.send(assign)
        await bus.send(assign)  # a retry: the same command id, no second effect
        await bus.send(receive)
        await bus.send(supplement)
    # One dossier's commands share a key, so once the last is applied, all are.
    dossier = await eventually(
        lambda: api.wait_for_dossier(receive.dossier_id),
        until=lambda d: d["status"]["key"] == "supplement_requested",
        timeout=60, interval=0.3, what="the supplement request applied",
    )  # fmt: skip
    assert dossier["assignee"] == "officer-7"
    assert dossier["received_by"] == "clerk-client-1"  # the author the token proves
    assert len(dossier["history"]) == 3, dossier["history"]


async def test_a_command_with_a_forged_proof_of_author_changes_nothing(
    stack: Stack, clerk: tuple[Commands, ClerkClient]
) -> None:
    commands, api = clerk
    genuine = commands.credentials.token
    forged = ClerkCredentials.from_token(genuine.rsplit(".", 1)[0] + ".forged-signature")
    refused = Commands(forged).receive(procedure_code="CT-BANSAO")
    mine = commands.receive(procedure_code="CT-BANSAO")
    async with RejectionWatcher(stack.bootstrap) as answers:
        async with CommandPublisher(stack.bootstrap) as bus:
            await bus.send(refused)
            await bus.send(mine)
        rejection = await answers.rejection_of([refused, mine], timeout=60)
    assert rejection is not None
    assert rejection.command_id == str(refused.command_id)
    assert rejection.reason.startswith("unauthenticated"), rejection
    await api.wait_for_dossier(mine.dossier_id, timeout=60)
    with pytest.raises(ApiError) as caught:
        await api.get_dossier(refused.dossier_id)
    assert caught.value.status == 404


async def test_http_calls_with_idempotency_and_the_counter(
    stack: Stack, clerk: tuple[Commands, ClerkClient]
) -> None:
    _, api = clerk
    key = f"desk-{uuid.uuid4()}"
    first = await api.receive_dossier(
        procedure_code="CT-BANSAO", applicant_name="C", idempotency_key=key
    )
    again = await api.receive_dossier(
        procedure_code="CT-BANSAO", applicant_name="C", idempotency_key=key
    )
    dossier_id = uuid.UUID(first["dossier"]["id"])
    assert uuid.UUID(again["dossier"]["id"]) == dossier_id  # one dossier, not two
    assert first["secret"]
    await api.assign(dossier_id, assignee="officer-3")
    officer = issue(stack, "officer-3", role="officer")
    async with ClerkClient(officer, intake_url=stack.intake_url) as as_officer:
        resolved = await as_officer.resolve(dossier_id, outcome="approved")
    assert resolved["status"]["key"] == "resolved"
    assert "phiếu" in (await api.receipt_html(dossier_id)).lower()
    listed = await api.list_dossiers(limit=500)
    assert str(dossier_id) in {d["id"] for d in listed}


async def test_a_counter_calls_serves_and_links_a_ticket_to_a_dossier(
    stack: Stack, clerk: tuple[Commands, ClerkClient]
) -> None:
    _, api = clerk
    async with httpx.AsyncClient(base_url=stack.queue_url) as kiosk:  # the kiosk, not a clerk
        center = (await kiosk.get(f"/centers/{CENTER}")).json()
        counter = center["counters"][0]
        line = counter["line_codes"][0]
        issued = await kiosk.post(f"/centers/{CENTER}/tickets", json={"line_code": line})
        assert issued.status_code == 201, issued.text
    opened = await api.open_counter(counter["counter_id"])
    assert opened["is_open"]
    called = await api.call_next(counter["counter_id"])
    assert called is not None
    waiting = await api.list_tickets()
    ticket = next(t for t in waiting if t["number"] == called["number"])
    ticket_id = uuid.UUID(ticket["ticket_id"])
    await api.start_service(counter["counter_id"], ticket_id)
    received = await api.receive_dossier(procedure_code="CT-BANSAO", ticket_id=ticket_id)
    dossier_id = uuid.UUID(received["dossier"]["id"])
    finished = await api.finish_service(counter["counter_id"], ticket_id, dossier_id=dossier_id)
    assert finished
