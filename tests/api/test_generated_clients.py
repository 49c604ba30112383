"""A client generated from each committed OpenAPI document by a standard generator
(openapi-python-client) compiles, and round-trips against the live service: what one
operation of the generated client writes, another reads back, parsed into the
generated models. A client that raises on any status its document does not name.

The clients are generated into a temporary folder; none is committed.
"""

from __future__ import annotations

import compileall
import importlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from motcua.devtools.stack import CENTER, Stack
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("queue", "intake", "deadlines", "notify", "registry")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``<service>_client`` packages, generated from docs/openapi/<service>.json."""
    out = tmp_path_factory.mktemp("generated")
    # The generator formats its output with ruff, from PATH.
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for service in SERVICES:
        run = subprocess.run(
            [shutil.which("openapi-python-client", path=env["PATH"]) or "openapi-python-client",
             "generate", "--path", str(ROOT / "docs" / "openapi" / f"{service}.json"),
             "--meta", "none", "--output-path", str(out / f"{service}_client")],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        # A warning means a part of the document the generator could not turn into code.
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Warning" not in run.stdout, run.stdout
    sys.path.insert(0, str(out))
    try:
        yield out
    finally:
        sys.path.remove(str(out))


def operation(service: str, name: str) -> ModuleType:
    """The generated module of one operation, found by its operation id's start."""
    package = importlib.import_module(f"{service}_client.api")
    for path in Path(package.__path__[0]).glob(f"*/{name}_*.py"):
        return importlib.import_module(f"{service}_client.api.{path.parent.name}.{path.stem}")
    raise AssertionError(f"{service}: no generated operation {name}")


def client(service: str, url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    module = importlib.import_module(f"{service}_client")
    return module.Client(base_url=url, headers=headers, raise_on_unexpected_status=True)


def test_every_generated_client_compiles_and_imports(generated: Path) -> None:
    for service in SERVICES:
        assert compileall.compile_dir(generated / f"{service}_client", quiet=1)
        for path in (generated / f"{service}_client" / "api").glob("*/*.py"):
            importlib.import_module(f"{service}_client.api.{path.parent.name}.{path.stem}")


def test_queue_client_issues_a_ticket_and_reads_it(generated: Path, stack: Stack) -> None:
    models = importlib.import_module("queue_client.models")
    kiosk = client("queue", stack.url("queue"))
    issued = operation("queue", "issue_ticket").sync_detailed(
        CENTER,
        client=kiosk,
        body=models.IssueTicketIn(line_code="justice"),
        idempotency_key=f"kiosk-{uuid.uuid4()}",
    )
    assert issued.status_code == 201, issued.content
    ticket = issued.parsed
    assert isinstance(ticket, models.TicketOut)
    read = operation("queue", "ticket_status").sync(ticket.lookup_code, client=kiosk)
    assert isinstance(read, models.TicketOut)
    assert (read.ticket_id, read.number, read.status) == (
        ticket.ticket_id,
        ticket.number,
        "waiting",
    )


async def test_intake_client_receives_a_dossier_and_deadlines_clock_follows(
    generated: Path, stack: Stack, tokens: dict[str, str]
) -> None:
    intake = importlib.import_module("intake_client.models")
    clerk = client("intake", stack.url("intake"), tokens["clerk"])
    key = f"desk-{uuid.uuid4()}"
    body = intake.CounterReceiptIn(procedure_code="HT-XNTTHN", applicant_name="Lê Thị Mai")
    receive = operation("intake", "receive")
    first = receive.sync_detailed(client=clerk, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    receipt = first.parsed
    assert isinstance(receipt, intake.ReceiptOut)
    again = receive.sync_detailed(client=clerk, body=body, idempotency_key=key)
    assert again.status_code == 200  # the same request again: the same dossier
    assert again.parsed.dossier.id == receipt.dossier.id
    read = operation("intake", "get_dossier").sync(receipt.dossier.id, client=clerk)
    assert isinstance(read, intake.DossierOut)
    assert (read.code, read.procedure.code) == (receipt.dossier.code, "HT-XNTTHN")

    # deadlines learns of the dossier from the bus; its client reads the legal clock.
    deadlines = importlib.import_module("deadlines_client.models")
    leader = client("deadlines", stack.url("deadlines"), tokens["leader"])
    get_clock = operation("deadlines", "get_clock")

    async def clock_set() -> bool:
        answer = get_clock.sync_detailed(receipt.dossier.id, client=leader)
        return answer.status_code == 200 and isinstance(answer.parsed, deadlines.ClockOut)

    await eventually(clock_set, timeout=60, interval=0.5, what="the dossier's clock")


def test_notify_client_lists_deliveries(
    generated: Path, stack: Stack, tokens: dict[str, str]
) -> None:
    models = importlib.import_module("notify_client.models")
    leader = client("notify", stack.url("notify"), tokens["leader"])
    listed = operation("notify", "list_deliveries").sync_detailed(client=leader, center_id=CENTER)
    assert listed.status_code == 200, listed.content
    assert isinstance(listed.parsed, list)
    assert all(isinstance(d, models.DeliveryOut) for d in listed.parsed)


def test_registry_client_changes_a_center_against_its_etag_and_reads_the_audit(
    generated: Path, stack: Stack, tokens: dict[str, str]
) -> None:
    """An admin reads the center and its ETag, changes it with that revision in
    If-Match, reads the change back and finds it in the audit; the same change against
    the old revision is then stale (409)."""
    models = importlib.import_module("registry_client.models")
    admin = client("registry", stack.url("registry"), tokens["admin"])
    get_center = operation("registry", "get_center")
    read = get_center.sync_detailed(CENTER, client=admin)
    assert read.status_code == 200, read.content
    center = read.parsed
    assert isinstance(center, models.CenterOut)
    name_en = f"Nam Cuong ward center ({uuid.uuid4().hex[:8]})"
    body = models.Center.from_dict(center.document.to_dict() | {"name_en": name_en})
    put_center = operation("registry", "put_center")
    changed = put_center.sync_detailed(
        CENTER, client=admin, body=body, if_match=read.headers["etag"], reason="round trip"
    )
    assert changed.status_code == 200, changed.content
    assert isinstance(changed.parsed, models.ChangeOut)
    assert (changed.parsed.changed, changed.parsed.revision) == (True, center.revision + 1)
    assert changed.headers["etag"] == f'"{center.revision + 1}"'

    now = get_center.sync(CENTER, client=admin)
    assert isinstance(now, models.CenterOut)
    assert (now.revision, now.document.to_dict()["name_en"]) == (center.revision + 1, name_en)
    audit = operation("registry", "get_audit").sync(CENTER, client=admin)
    assert isinstance(audit, models.AuditPageOut)
    entry = audit.entries[0]
    assert (entry.revision, entry.role, entry.actor, entry.reason) == (
        center.revision + 1,
        "admin",
        "api-admin",
        "round trip",
    )
    assert entry.after.to_dict()["name_en"] == name_en

    stale = put_center.sync_detailed(CENTER, client=admin, body=body, if_match=read.headers["etag"])
    assert stale.status_code == 409
    assert isinstance(stale.parsed, models.Refusal)
