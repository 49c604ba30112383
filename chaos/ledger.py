"""The ledger: everything the load generator sent, and the effects each thing must have.

An entry is written only from what the public APIs confirmed (a 2xx answer, or an
acknowledged produce), so the ledger never expects an effect of a request that was
refused. What it expects is derived from the entry alone; the checker then looks
for exactly that in every service's schema, on the bus and at the message sink.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

# Intake operations: the HTTP path segment, the event it yields and the status after it.
OPS: dict[str, tuple[str, str, int]] = {
    "receive": ("", "dossier.received", 2),
    # Filed online: it waits (status 1, no clock) until a clerk accepts it.
    "submit": ("", "dossier.submitted", 1),
    "accept": ("accept", "dossier.received", 2),
    "assign": ("assign", "dossier.assigned", 3),
    "request_supplement": ("request-supplement", "dossier.supplement_requested", 5),
    "provide_supplement": ("provide-supplement", "dossier.supplement_provided", 3),
    "resolve": ("resolve", "dossier.resolved", 9),
    "return": ("return", "dossier.returned", 10),
}

# Dossier flavours: how it is received, and the lifecycle that follows.
FLAVOURS: dict[str, tuple[str, ...]] = {
    "simple": ("receive", "assign", "resolve", "return"),
    "supplement": ("receive", "assign", "request_supplement", "provide_supplement", "resolve"),
    "backdated": ("receive",),  # received weeks ago by an admin (a data migration): overdue
    "online": ("submit", "accept"),  # the citizen files online; a clerk accepts it
    "bus": ("receive", "assign"),  # a clerk app on intake.commands (no contact on the bus)
    "counter": ("receive", "assign", "resolve", "return"),  # from a served ticket
}

# Messages each dossier operation calls for (when the citizen gave a contact).
DOSSIER_MESSAGES: dict[str, str] = {
    "submit": "dossier_submitted",  # the code and secret of an online filing
    "receive": "dossier_received",
    "accept": "dossier_received",
    "request_supplement": "supplement_requested",
    "resolve": "result_ready",
    "return": "dossier_returned",
}


@dataclass
class TicketEntry:
    key: str  # the kiosk request's Idempotency-Key
    scenario: str
    line: str
    phone: str | None
    ticket_id: uuid.UUID | None = None
    lookup_code: str | None = None
    called: bool = False
    served: bool = False
    dossier_id: uuid.UUID | None = None  # received at the counter during its service

    def messages(self) -> Counter[str]:
        return Counter({"ticket_called": 1} if self.phone and self.called else {})


@dataclass
class DossierEntry:
    key: str  # Idempotency-Key (HTTP) or the receive command's id (bus)
    scenario: str
    flavour: str
    procedure: str
    phone: str | None
    id_number: str  # written in the dossier's note; must never leave intake
    dossier_id: uuid.UUID | None = None
    code: str | None = None
    secret: str | None = None
    ticket_id: uuid.UUID | None = None
    done: list[str] = field(default_factory=list)
    command_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def plan(self) -> tuple[str, ...]:
        return FLAVOURS[self.flavour]

    @property
    def status(self) -> int:
        return OPS[self.done[-1]][2] if self.done else 0

    def history(self) -> list[str]:
        return [OPS[op][1] for op in self.done]

    def _once(self, marks: dict[str, str]) -> Counter[str]:
        """One of each mark whose operation (the key) was done."""
        return Counter({mark: 1 for op, mark in marks.items() if op in self.done})

    def flags(self) -> Counter[str]:
        """Deadline flags that must exist exactly once (approaching ones may or may not)."""
        out = self._once({"receive": "set", "accept": "set", "resolve": "closed"})
        if self.flavour == "backdated":
            out["overdue"] = 1
        return out

    def pauses(self) -> Counter[str]:
        return self._once(
            {
                "request_supplement": "pause_start",
                "provide_supplement": "pause_end",
                "resolve": "resolved",
            }
        )

    def messages(self) -> Counter[str]:
        if not self.phone:
            return Counter()
        out = Counter(DOSSIER_MESSAGES[op] for op in self.done if op in DOSSIER_MESSAGES)
        if self.flavour == "backdated":
            out["deadline_apology"] = 1
        return out


@dataclass
class Ledger:
    tickets: list[TicketEntry] = field(default_factory=list)
    dossiers: list[DossierEntry] = field(default_factory=list)

    def of(self, scenario: str) -> Ledger:
        return Ledger(
            [t for t in self.tickets if t.scenario == scenario],
            [d for d in self.dossiers if d.scenario == scenario],
        )

    def phones(self) -> set[str]:
        return {
            p for p in [*(t.phone for t in self.tickets), *(d.phone for d in self.dossiers)] if p
        }

    def id_numbers(self) -> set[str]:
        return {d.id_number for d in self.dossiers}
