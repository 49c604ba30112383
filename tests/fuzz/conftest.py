"""One running system for every fuzz test: the five services as OS processes on the
session's servers (a database and a topic prefix of their own), with a ticket and a
dossier of the sample center made through the public APIs, for paths that need them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings

from motcua.devtools.stack import CENTER, Stack, token
from motcua.shared.events import catalog
from tests.support.chaos_stack import stack_fixture

OTHER_CENTER = "bac-ha"


@dataclass(frozen=True)
class Seeded:
    """Resources of the sample center, reachable by its clerks only."""

    ticket_id: uuid.UUID
    lookup_code: str
    dossier_id: uuid.UUID
    dossier_code: str
    secret: str
    phone: str
    id_number: str

    def path_values(self) -> dict[str, Any]:
        return {
            "center_id": CENTER,
            "counter_id": "Q1",
            "ticket_id": str(self.ticket_id),
            "lookup_code": self.lookup_code,
            "dossier_id": str(self.dossier_id),
        }


def bearer(center_id: str = CENTER, role: str = "clerk") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(center_id, role)}"}


def replayable(examples: int) -> settings:
    """Hypothesis settings for fuzzing a running system: the same examples on every run,
    no deadline and no health checks (each example is a request or a message)."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def receipt(code: str) -> catalog.DossierReceived:
    """A plain receipt: Monday 2 March 2026 09:00 in Hà Nội, three working days."""
    return catalog.DossierReceived(
        dossier_id=uuid.uuid4(),
        dossier_code=code,
        procedure_code="HT-XNTTHN",
        status=2,
        received_at=datetime(2026, 3, 2, 2, tzinfo=UTC),
        channel="counter",
        time_limit=catalog.TimeLimitSnapshot(amount=3, unit="working_days"),
        appointment_at=datetime(2026, 3, 5, 10, tzinfo=UTC),
    )


stack = stack_fixture("package", "fuzz")


@pytest.fixture(scope="package")
async def seeded(stack: Stack) -> Seeded:
    phone, id_number = "0903141592", "079203001234"
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(
            f"{stack.url('queue')}/centers/{CENTER}/tickets",
            json={
                "line_code": "justice",
                "contact": {"kind": "phone", "value": phone, "consent": True},
            },
        )
        assert r.status_code == 201, r.text
        ticket = r.json()
        r = await client.post(
            f"{stack.url('intake')}/v1/dossiers",
            json={
                "procedure_code": "HT-XNTTHN",
                "applicant_name": "Lê Thị Mai",
                "note": f"CCCD {id_number}",
                "contact": {"kind": "phone", "value": phone},
                "consent_notifications": True,
            },
            headers=bearer(),
        )
        assert r.status_code == 201, r.text
        receipt = r.json()
    return Seeded(
        ticket_id=uuid.UUID(ticket["ticket_id"]),
        lookup_code=ticket["lookup_code"],
        dossier_id=uuid.UUID(receipt["dossier"]["id"]),
        dossier_code=receipt["dossier"]["code"],
        secret=receipt["secret"],
        phone=phone,
        id_number=id_number,
    )
