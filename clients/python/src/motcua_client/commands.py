"""Typed builders for the commands a clerk app publishes on ``intake.commands``.

Each builder returns a :class:`Command`: the JSON object of
``docs/events/command.<type>.json``, with everything the caller should not have to
think about already filled in:

- ``command_id``: a new uuid4 unless given. Intake applies a command id at most once,
  so to retry, publish the same :class:`Command` again (its id does not change); to
  send a corrected command after a rejection, build a new one.
- ``center_id`` and ``issued_by``: read from the clerk's token, because intake
  rejects a command whose center or author differs from its token's.
- ``token``: the proof of author, the clerk's own token (docs/security/bus.md).
- ``issued_at``: now, unless the clerk acted earlier (backdating needs an admin token).
- ``dossier_id`` for ``dossier.receive``: chosen here, so that the message can be
  keyed by it and the app can read the new dossier back by its id.

The builders follow the committed JSON Schemas; tests/client/test_contract.py
validates each builder's output against them and fails when a schema gains a field
no builder offers, or a command type no builder builds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, Unpack

from motcua_client.credentials import ClerkCredentials

TOPIC = "intake.commands"
"""The topic name without the deployment's prefix (``MOTCUA_KAFKA_TOPIC_PREFIX``)."""


@dataclass(frozen=True)
class Command:
    """One command, ready to publish: keyed by its dossier so a dossier's commands stay
    in order. Publish the same object again to retry: the id is part of it."""

    command_type: str
    command_id: uuid.UUID
    dossier_id: uuid.UUID
    body: Mapping[str, Any] = field(repr=False)  # carries the token

    @property
    def key(self) -> bytes:
        return str(self.dossier_id).encode()

    def to_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


class Envelope(TypedDict, total=False):
    """Optional envelope fields every builder takes."""

    command_id: uuid.UUID  # default: a new uuid4
    issued_at: datetime  # business time, with a time zone; default: now
    correlation_id: uuid.UUID


def _compact(data: Mapping[str, Any]) -> dict[str, Any]:
    # An absent optional field and a null one mean the same to intake; leaving them out
    # keeps the messages short.
    return {k: v for k, v in data.items() if v is not None}


class Commands:
    """The builders, bound to one clerk's credentials."""

    def __init__(self, credentials: ClerkCredentials) -> None:
        self.credentials = credentials

    def _build(
        self,
        command_type: str,
        dossier_id: uuid.UUID,
        data: Mapping[str, Any],
        envelope: Envelope,
    ) -> Command:
        when = envelope.get("issued_at") or datetime.now(UTC)
        if when.tzinfo is None:
            raise ValueError("issued_at must carry a time zone")
        command_id = envelope.get("command_id") or uuid.uuid4()
        correlation_id = envelope.get("correlation_id")
        body: dict[str, Any] = {
            "command_type": command_type,
            "command_id": str(command_id),
            "schema_version": 1,
            "center_id": self.credentials.center_id,
            "issued_by": self.credentials.subject,
            "issued_at": when.isoformat(),
            "dossier_id": str(dossier_id),
            "token": self.credentials.token,
            "data": _compact(data),
        }
        if correlation_id is not None:
            body["correlation_id"] = str(correlation_id)
        return Command(command_type, command_id, dossier_id, body)

    def receive(
        self,
        *,
        procedure_code: str,
        channel: Literal["counter", "online"] = "counter",
        ticket_id: uuid.UUID | None = None,
        applicant_name: str | None = None,
        documents_received: Sequence[str] = (),
        note: str | None = None,
        dossier_id: uuid.UUID | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.receive``: a new dossier at the counter (``dossier_id``: new uuid4)."""
        data = {
            "procedure_code": procedure_code,
            "channel": channel,
            "ticket_id": str(ticket_id) if ticket_id else None,
            "applicant_name": applicant_name,
            "documents_received": list(documents_received),
            "note": note,
        }
        return self._build("dossier.receive", dossier_id or uuid.uuid4(), data, envelope)

    def assign(
        self,
        dossier_id: uuid.UUID,
        *,
        assignee: str,
        department: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.assign``: to an officer or department."""
        data = {"assignee": assignee, "department": department}
        return self._build("dossier.assign", dossier_id, data, envelope)

    def request_supplement(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str,
        missing_documents: Sequence[str] = (),
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.request_supplement``: the legal clock pauses."""
        data = {"reason": reason, "missing_documents": list(missing_documents)}
        return self._build("dossier.request_supplement", dossier_id, data, envelope)

    def provide_supplement(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.provide_supplement``: the clock resumes."""
        return self._build("dossier.provide_supplement", dossier_id, {"note": note}, envelope)

    def notify_financial_obligation(
        self,
        dossier_id: uuid.UUID,
        *,
        amount_vnd: int | None = None,
        note: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.notify_financial_obligation``: a fee or tax is due (clock pauses)."""
        data = {"amount_vnd": amount_vnd, "note": note}
        return self._build("dossier.notify_financial_obligation", dossier_id, data, envelope)

    def fulfil_financial_obligation(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.fulfil_financial_obligation``: paid (the clock resumes)."""
        return self._build(
            "dossier.fulfil_financial_obligation", dossier_id, {"note": note}, envelope
        )

    def resolve(
        self,
        dossier_id: uuid.UUID,
        *,
        outcome: Literal["approved", "refused"],
        reason: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.resolve``: approved, or refused (a refusal needs a reason)."""
        if outcome == "refused" and not reason:
            raise ValueError("a refusal needs a reason")  # intake would reject it anyway
        data = {"outcome": outcome, "reason": reason}
        return self._build("dossier.resolve", dossier_id, data, envelope)

    def return_result(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.return_result``: the result is handed to the citizen."""
        return self._build("dossier.return_result", dossier_id, {"note": note}, envelope)

    def withdraw(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.withdraw``: at the citizen's request."""
        return self._build("dossier.withdraw", dossier_id, {"reason": reason}, envelope)

    def stop(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str,
        **envelope: Unpack[Envelope],
    ) -> Command:
        """``dossier.stop``: stop processing (or refuse to process), with a reason."""
        return self._build("dossier.stop", dossier_id, {"reason": reason}, envelope)


BUILDERS: dict[str, str] = {
    "dossier.receive": "receive",
    "dossier.assign": "assign",
    "dossier.request_supplement": "request_supplement",
    "dossier.provide_supplement": "provide_supplement",
    "dossier.notify_financial_obligation": "notify_financial_obligation",
    "dossier.fulfil_financial_obligation": "fulfil_financial_obligation",
    "dossier.resolve": "resolve",
    "dossier.return_result": "return_result",
    "dossier.withdraw": "withdraw",
    "dossier.stop": "stop",
}
"""Each command type and the :class:`Commands` method that builds it."""

ENVELOPE_PARAMETERS = frozenset({"dossier_id", "envelope"})
"""Builder parameters that fill the envelope; every other one is a field of ``data``."""
