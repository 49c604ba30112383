"""Commands a clerk app publishes on ``intake.commands``: what every builder shares.

The builders themselves (``Commands`` in :mod:`motcua_client.builders`) are generated
from the committed schemas by clients/python/generate.py. Each returns a
:class:`Command`: the JSON object of ``docs/events/command.<type>.json``, with
everything the caller should not have to think about already filled in:

- ``command_id``: a new uuid4 unless given. Intake applies a command id at most once,
  so to retry, publish the same :class:`Command` again (its id does not change); to
  send a corrected command after a rejection, build a new one.
- ``center_id`` and ``issued_by``: read from the clerk's token, because intake
  rejects a command whose center or author differs from its token's.
- ``token``: the proof of author, the clerk's own token (docs/security/bus.md).
- ``issued_at``: now, unless the clerk acted earlier (backdating needs an admin token).
- ``dossier_id`` for ``dossier.receive``: chosen here, so that the message can be
  keyed by it and the app can read the new dossier back by its id.

tests/client/test_contract.py fails while the generated builders differ from what
the committed schemas give, and validates each builder's output against its schema.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

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


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_json(v) for v in value]
    return value


def _data(fields: Mapping[str, Any]) -> dict[str, Any]:
    # An absent optional field and a null one mean the same to intake; leaving them out
    # keeps the messages short.
    return {k: _json(v) for k, v in fields.items() if v is not None}


class CommandBuilder:
    """The envelope every builder fills in: ids, center, author, token and time."""

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
            "data": _data(data),
        }
        if correlation_id is not None:
            body["correlation_id"] = str(correlation_id)
        return Command(command_type, command_id, dossier_id, body)


ENVELOPE_PARAMETERS = frozenset({"dossier_id", "envelope"})
"""Builder parameters that fill the envelope; every other one is a field of ``data``."""
