"""Commands that clerk apps publish to intake on topic ``intake.commands``.

A command asks intake to do something; intake validates it, applies it and emits
the canonical ``dossier.*`` events, or emits one ``command.rejected`` naming the
reason and the command id. Commands are idempotent by ``command_id``: a command
seen before (applied or rejected) has no second effect and no second rejection,
so a clerk app retries with the same id and fixes a rejected command with a new one.

Every command is a versioned envelope with a typed ``data``; ``command_type``
discriminates. Key each message by ``dossier_id`` (for ``dossier.receive`` choose
the new dossier's id yourself), so one dossier's commands stay in order. The JSON
Schema of each type is committed as ``docs/events/command.<type>.json``.

Proof of author: ``token`` is the clerk's own bearer token, the same HMAC token
the HTTP API takes (``motcua.shared.auth``). Intake verifies it when it consumes the
command and then applies exactly the checks of the HTTP path: the token's center
must be the command's ``center_id``, its subject the command's ``issued_by``, and
backdating needs an admin token. A command without a valid token changes nothing
and is answered ``command.rejected`` (see docs/security/bus.md).

Business time: ``issued_at`` is when the clerk acted, and becomes the events'
``occurred_at`` (a data migration may backdate, with an admin token). Contacts
never travel here: a phone number or e-mail is given to intake over HTTPS only,
which seals it for the bus.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import uuid
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from motcua.shared.events.envelope import MAX_EVENT_BYTES, Message, UtcTime

MAX_COMMAND_BYTES = MAX_EVENT_BYTES
"""Largest command accepted; a larger one is rejected, not applied."""

Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Note = Annotated[str, Field(max_length=2000)]
DocumentName = Annotated[str, Field(min_length=1, max_length=300)]


class CommandData(BaseModel):
    """Base of every command's ``data``. Unknown fields are refused: a typo in a
    command should be a clear rejection, not a silently ignored instruction."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceiveData(CommandData):
    procedure_code: str = Field(min_length=1, max_length=64, description="Catalog code")
    channel: Literal["counter", "online"] = "counter"
    ticket_id: uuid.UUID | None = Field(
        default=None, description="The queue ticket that brought the citizen to the counter"
    )
    applicant_name: str | None = Field(
        default=None, max_length=200, description="Printed on the receipt; never published"
    )
    documents_received: list[DocumentName] = Field(default_factory=list, max_length=50)
    note: Note | None = None


class AssignData(CommandData):
    assignee: str = Field(min_length=1, max_length=128, description="Officer or department id")
    department: str | None = Field(default=None, max_length=128)


class RequestSupplementData(CommandData):
    reason: Reason
    missing_documents: list[DocumentName] = Field(default_factory=list, max_length=50)


class ProvideSupplementData(CommandData):
    note: Note | None = None


class NotifyFinancialObligationData(CommandData):
    amount_vnd: int | None = Field(default=None, ge=0)
    purpose: str | None = Field(default=None, min_length=1, max_length=500)
    how_to_pay: str | None = Field(default=None, min_length=1, max_length=1000)
    note: Note | None = None


class FulfilFinancialObligationData(CommandData):
    note: Note | None = None


class ResolveData(CommandData):
    outcome: Literal["approved", "refused"]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _refusal_needs_reason(self) -> ResolveData:
        if self.outcome == "refused" and not self.reason:
            raise ValueError("a refusal needs a reason")
        return self


class ReturnResultData(CommandData):
    note: Note | None = None


class WithdrawData(CommandData):
    reason: Reason | None = None


class StopData(CommandData):
    reason: Reason


# The legal record: online acceptance, liên thông, rework (docs/portal-statuses.md).


class AcceptData(CommandData):
    note: Note | None = None


class NotAcceptData(CommandData):
    reason: Reason


class TransferData(CommandData):
    to_agency: str = Field(
        min_length=1, max_length=200, description="The agency the dossier is sent to"
    )
    note: Note | None = None


class TransferBackData(CommandData):
    from_agency: str | None = Field(default=None, max_length=200)
    note: Note | None = None


class ReturnForReworkData(CommandData):
    reason: Reason


D = TypeVar("D", bound=CommandData, covariant=True)
"""Covariant: a command is frozen, so an ``AssignDossier`` is a ``Command[CommandData]``."""


def _type_is_required(schema: dict[str, Any]) -> None:
    # The Python default is a convenience; on the wire the discriminator must be present.
    required = schema.setdefault("required", [])
    if "command_type" not in required:
        required.insert(0, "command_type")


class Command(Message, Generic[D]):
    """The envelope of every command: identity, author, center, time and typed data.

    A command's class names its type once, in its header, e.g.
    ``class ReceiveDossier(Command[ReceiveData], command_type="dossier.receive")``; that
    sets ``COMMAND_TYPE`` and makes the ``command_type`` field that exact literal (the
    union's discriminator, defaulted, so callers never spell the type again).
    """

    model_config = ConfigDict(json_schema_extra=_type_is_required)

    COMMAND_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    command_id: uuid.UUID = Field(description="Idempotency key: one id, at most one effect")
    command_type: str = ""
    schema_version: int = Field(default=1, ge=1, le=1)
    center_id: str = Field(min_length=1, max_length=64)
    issued_by: str = Field(min_length=1, max_length=128, description="The clerk or officer")
    issued_at: UtcTime = Field(description="When the clerk acted (business time)")
    dossier_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    token: str | None = Field(
        default=None,
        max_length=4096,
        repr=False,  # a bearer credential: never in a log line or a traceback
        description="The author's clerk token (as for the HTTP API, without 'Bearer '); "
        "a command without a valid one is rejected",
    )
    data: D

    def __init_subclass__(cls, *, command_type: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if command_type:
            # Declared here rather than in each class, so the type is written once; pydantic
            # collects the class's fields after this hook, so it sees the literal field.
            cls.COMMAND_TYPE = command_type
            own = inspect.get_annotations(cls)
            cls.__annotations__ = {**own, "command_type": Literal[command_type]}
            cls.command_type = command_type  # the default

    def signed(self, token: str) -> Self:
        """This command carrying its author's token."""
        return self.model_copy(update={"token": token})


class ReceiveDossier(Command[ReceiveData], command_type="dossier.receive"):
    """Receive a dossier at the counter. ``dossier_id`` is the new dossier's id; if
    omitted, intake derives it from ``command_id``."""


class _Targeted(Command[D], Generic[D]):
    dossier_id: uuid.UUID  # required: the command acts on an existing dossier


class AssignDossier(_Targeted[AssignData], command_type="dossier.assign"):
    """Assign the dossier to an officer or department."""


class RequestSupplement(
    _Targeted[RequestSupplementData], command_type="dossier.request_supplement"
):
    """Ask the citizen for missing documents (the legal clock pauses)."""


class ProvideSupplement(
    _Targeted[ProvideSupplementData], command_type="dossier.provide_supplement"
):
    """Record that the citizen supplied what was missing (the clock resumes)."""


class NotifyFinancialObligation(
    _Targeted[NotifyFinancialObligationData], command_type="dossier.notify_financial_obligation"
):
    """Tell the citizen a fee or tax is due (the clock pauses)."""


class FulfilFinancialObligation(
    _Targeted[FulfilFinancialObligationData], command_type="dossier.fulfil_financial_obligation"
):
    """Record that the fee or tax was paid (the clock resumes)."""


class ResolveDossier(_Targeted[ResolveData], command_type="dossier.resolve"):
    """Decide the dossier: approved, or refused with a reason."""


class ReturnResult(_Targeted[ReturnResultData], command_type="dossier.return_result"):
    """Hand the result to the citizen."""


class WithdrawDossier(_Targeted[WithdrawData], command_type="dossier.withdraw"):
    """The citizen withdraws the dossier."""


class StopDossier(_Targeted[StopData], command_type="dossier.stop"):
    """Stop processing (or refuse to process), with a reason."""


class AcceptDossier(_Targeted[AcceptData], command_type="dossier.accept"):
    """Accept a dossier the citizen filed online: the legal clock starts now."""


class NotAcceptDossier(_Targeted[NotAcceptData], command_type="dossier.not_accept"):
    """Refuse to accept a dossier filed online, with a reason."""


class TransferDossier(_Targeted[TransferData], command_type="dossier.transfer"):
    """Send the dossier to another agency (liên thông); the clock keeps running."""


class TransferBackDossier(_Targeted[TransferBackData], command_type="dossier.transfer_back"):
    """The other agency sent the dossier back."""


class ReturnForRework(_Targeted[ReturnForReworkData], command_type="dossier.return_for_rework"):
    """Send the officer's work back to be done again, with a reason."""


ALL_COMMANDS: tuple[type[Command[Any]], ...] = (
    ReceiveDossier,
    AssignDossier,
    RequestSupplement,
    ProvideSupplement,
    NotifyFinancialObligation,
    FulfilFinancialObligation,
    ResolveDossier,
    ReturnResult,
    WithdrawDossier,
    StopDossier,
    AcceptDossier,
    NotAcceptDossier,
    TransferDossier,
    TransferBackDossier,
    ReturnForRework,
)
COMMANDS: dict[str, type[Command[Any]]] = {c.COMMAND_TYPE: c for c in ALL_COMMANDS}

AnyCommand: Any = Annotated[
    Union[ALL_COMMANDS],  # noqa: UP007
    Field(discriminator="command_type"),
]
_any_command: TypeAdapter[Command[Any]] = TypeAdapter(AnyCommand)


class CommandError(ValueError):
    """A message on the command topic that cannot become a command.

    Carries what could be read of it (id, type, center, dossier) so that the
    rejection can name the command, and its token, so that the consumer can tell a
    clerk's mistake from a stranger's message.
    """

    def __init__(
        self,
        reason: str,
        *,
        command_id: str | None = None,
        command_type: str | None = None,
        center_id: str | None = None,
        dossier_id: uuid.UUID | None = None,
        token: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token = token
        self.command_id = command_id
        self.command_type = command_type
        self.center_id = center_id
        self.dossier_id = dossier_id


def parse_command(raw: bytes | str) -> Command[Any]:
    """Bytes to a typed command, or a :class:`CommandError` that says why not."""
    try:
        decoded: Any = json.loads(raw)
        not_json = None
    except (ValueError, UnicodeDecodeError) as exc:
        decoded, not_json = None, str(exc)
    except RecursionError:  # nesting deeper than the decoder allows: garbage, not data
        decoded, not_json = None, "nested too deeply"
    head = _head(decoded)
    if len(raw) > MAX_COMMAND_BYTES:
        raise CommandError(f"command is {len(raw)} bytes; the limit is {MAX_COMMAND_BYTES}", **head)
    if not_json is not None:
        raise CommandError(f"not JSON: {not_json}")
    if not isinstance(decoded, dict):
        raise CommandError(f"a command is a JSON object, got {type(decoded).__name__}")
    if head["command_type"] not in COMMANDS:
        raise CommandError(f"unknown command type {head['command_type']!r}", **head)
    try:
        return _any_command.validate_python(decoded)
    except ValidationError as exc:
        raise CommandError(_describe(exc), **head) from None


def _head(decoded: Any) -> dict[str, Any]:
    """The identifying fields of a command, as far as they can be read."""
    if not isinstance(decoded, dict):
        return {}

    def text(name: str, limit: int) -> str | None:
        value = decoded.get(name)
        return value[:limit] if isinstance(value, str) and value else None

    dossier_id: uuid.UUID | None = None
    with contextlib.suppress(KeyError, ValueError):
        dossier_id = uuid.UUID(str(decoded["dossier_id"]))
    return {
        "command_id": text("command_id", 128),
        "command_type": text("command_type", 100),
        "center_id": text("center_id", 64),
        "dossier_id": dossier_id,
        "token": text("token", 4096),
    }


def _describe(exc: ValidationError) -> str:
    """A short description naming each bad field, never echoing the input."""
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in COMMANDS:  # the union's branch name adds nothing
            loc = loc[1:]
        parts.append(f"{'.'.join(loc) or '(root)'}: {err['msg']}")
    return "; ".join(parts)


def command_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every command, by ``command.<command_type>``."""
    return {f"command.{t}": model.model_json_schema() for t, model in sorted(COMMANDS.items())}
