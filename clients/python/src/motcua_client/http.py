"""The clerk side of the intake and queue HTTP APIs, over httpx.

Every write that intake makes idempotent gets an ``Idempotency-Key`` (a new uuid4 per
call unless the caller passes one), and is retried with that same key after a lost
connection or a 502/503/504, so a retry never receives a dossier twice. Writes that
the API does not make idempotent (calling the next ticket, for example) are sent
once: a blind retry could call two citizens.

:data:`OPERATIONS` names each operation with its method and path as in
``docs/openapi/<service>.json``; tests/client/test_contract.py checks the table, the
parameters and the bodies against those documents.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import quote

import httpx

from motcua_client.credentials import ClerkCredentials

Service = Literal["intake", "queue"]


@dataclass(frozen=True)
class Operation:
    service: Service
    method: Literal["GET", "POST"]
    path: str  # the OpenAPI path template
    idempotent: bool = False  # takes an Idempotency-Key, so a retry is safe


OPERATIONS: dict[str, Operation] = {
    # intake: dossiers
    "receive_dossier": Operation("intake", "POST", "/v1/dossiers", idempotent=True),
    "list_dossiers": Operation("intake", "GET", "/v1/dossiers"),
    "get_dossier": Operation("intake", "GET", "/v1/dossiers/{dossier_id}"),
    "receipt_html": Operation("intake", "GET", "/v1/dossiers/{dossier_id}/receipt"),
    "assign": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/assign", True),
    "request_supplement": Operation(
        "intake", "POST", "/v1/dossiers/{dossier_id}/request-supplement", True
    ),
    "provide_supplement": Operation(
        "intake", "POST", "/v1/dossiers/{dossier_id}/provide-supplement", True
    ),
    "notify_financial_obligation": Operation(
        "intake", "POST", "/v1/dossiers/{dossier_id}/notify-financial-obligation", True
    ),
    "fulfil_financial_obligation": Operation(
        "intake", "POST", "/v1/dossiers/{dossier_id}/fulfil-financial-obligation", True
    ),
    "resolve": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/resolve", True),
    "return_result": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/return", True),
    "withdraw": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/withdraw", True),
    "stop": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/stop", True),
    # The legal record: online acceptance, liên thông, rework (docs/portal-statuses.md).
    "accept_dossier": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/accept", True),
    "not_accept_dossier": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/not-accept", True),
    "transfer_dossier": Operation("intake", "POST", "/v1/dossiers/{dossier_id}/transfer", True),
    "transfer_dossier_back": Operation(
        "intake", "POST", "/v1/dossiers/{dossier_id}/transfer-back", True
    ),
    "return_for_rework": Operation(
        "intake", "POST", "/v1/dossiers/{dossier_id}/return-for-rework", True
    ),
    # queue: the clerk's counter
    "open_counter": Operation("queue", "POST", "/centers/{center_id}/counters/{counter_id}/open"),
    "close_counter": Operation("queue", "POST", "/centers/{center_id}/counters/{counter_id}/close"),
    "call_next": Operation("queue", "POST", "/centers/{center_id}/counters/{counter_id}/call-next"),
    "list_tickets": Operation("queue", "GET", "/centers/{center_id}/tickets"),
    "recall": Operation(
        "queue", "POST", "/centers/{center_id}/counters/{counter_id}/tickets/{ticket_id}/recall"
    ),
    "start_service": Operation(
        "queue", "POST", "/centers/{center_id}/counters/{counter_id}/tickets/{ticket_id}/start"
    ),
    "finish_service": Operation(
        "queue", "POST", "/centers/{center_id}/counters/{counter_id}/tickets/{ticket_id}/finish"
    ),
    "no_show": Operation(
        "queue", "POST", "/centers/{center_id}/counters/{counter_id}/tickets/{ticket_id}/no-show"
    ),
    "transfer": Operation(
        "queue",
        "POST",
        "/centers/{center_id}/counters/{counter_id}/tickets/{ticket_id}/transfer",
    ),
    "cancel_ticket": Operation("queue", "POST", "/centers/{center_id}/tickets/{ticket_id}/cancel"),
    "requeue_ticket": Operation(
        "queue", "POST", "/centers/{center_id}/tickets/{ticket_id}/requeue"
    ),
}

RETRY_STATUSES = frozenset({502, 503, 504})


class ApiError(Exception):
    """The API answered with an error status; ``detail`` is its JSON body (or text)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class WriteOptions(TypedDict, total=False):
    """Optional fields of every dossier transition over HTTP."""

    occurred_at: datetime  # business time, with a time zone; default: now
    idempotency_key: str  # default: a new uuid4 per call, kept across its retries


def _compact(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


IDEMPOTENCY_KEY_LENGTH = (8, 128)
"""The lengths intake accepts for an ``Idempotency-Key`` (docs/openapi/intake.json)."""


def _key(given: str | None) -> str:
    if given is None:
        return str(uuid.uuid4())
    shortest, longest = IDEMPOTENCY_KEY_LENGTH
    if not shortest <= len(given) <= longest:
        # Refused here rather than by a 422 after the request has left.
        raise ValueError(f"an Idempotency-Key has {shortest} to {longest} characters")
    return given


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class ClerkClient:
    """Async client for one clerk: ``async with ClerkClient(...) as api: ...``.

    ``intake_url`` and ``queue_url`` are the services' base addresses; ``transport``
    lets a test answer in memory.
    """

    def __init__(
        self,
        credentials: ClerkCredentials,
        *,
        intake_url: str,
        queue_url: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.retries = retries
        self._urls: dict[Service, str | None] = {"intake": intake_url, "queue": queue_url}
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def __aenter__(self) -> ClerkClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        name: str,
        path: Mapping[str, object] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        op = OPERATIONS[name]
        base = self._urls[op.service]
        if base is None:
            raise ValueError(f"{name} needs the {op.service} service's address")
        values = {"center_id": self.credentials.center_id, **(path or {})}
        # Quoted, so that an id with a slash or a space names one path segment.
        segments = {k: quote(str(v), safe="") for k, v in values.items()}
        url = base.rstrip("/") + op.path.format(**segments)
        headers = {"Authorization": self.credentials.authorization}
        if op.idempotent:
            # One key for every attempt of this call: that is what makes the retry safe.
            headers["Idempotency-Key"] = _key(idempotency_key)
        attempts = 1 + (self.retries if op.idempotent or op.method == "GET" else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self._http.request(
                    op.method, url, headers=headers, params=_compact(query or {}),
                    json=_compact(body) if body is not None else None,
                )  # fmt: skip
            except httpx.TransportError:
                if last:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    break
            await asyncio.sleep(0.2 * 2**attempt)
        if response.status_code >= 400:
            try:
                detail: Any = response.json()
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response

    # ------------------------------------------------------------ intake: dossiers

    async def receive_dossier(
        self,
        *,
        procedure_code: str,
        channel: Literal["counter", "online"] = "counter",
        ticket_id: uuid.UUID | None = None,
        applicant_name: str | None = None,
        documents_received: Sequence[str] = (),
        note: str | None = None,
        contact: Mapping[str, str] | None = None,
        consent_notifications: bool = False,
        received_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Receive a dossier at the counter; the answer carries the dossier, the lookup
        secret and the receipt's address. ``contact``: ``{"kind": "sms"|"email",
        "value": ..., "language": ...}`` (sealed by intake, never put on the bus)."""
        body = {
            "procedure_code": procedure_code,
            "channel": channel,
            "ticket_id": str(ticket_id) if ticket_id else None,
            "applicant_name": applicant_name,
            "documents_received": list(documents_received),
            "note": note,
            "contact": dict(contact) if contact else None,
            "consent_notifications": consent_notifications,
            "received_at": _time(received_at),
        }
        r = await self._call("receive_dossier", body=body, idempotency_key=idempotency_key)
        return dict(r.json())

    async def list_dossiers(self, *, status: int | None = None, limit: int = 100) -> list[Any]:
        r = await self._call("list_dossiers", query={"status": status, "limit": limit})
        return list(r.json())

    async def get_dossier(self, dossier_id: uuid.UUID) -> dict[str, Any]:
        r = await self._call("get_dossier", {"dossier_id": dossier_id})
        return dict(r.json())

    async def receipt_html(self, dossier_id: uuid.UUID) -> str:
        """The printable receipt (phiếu tiếp nhận và hẹn trả kết quả), secret included."""
        return (await self._call("receipt_html", {"dossier_id": dossier_id})).text

    async def wait_for_dossier(
        self, dossier_id: uuid.UUID, *, timeout: float = 30.0, every: float = 0.3
    ) -> dict[str, Any]:
        """The dossier, once intake has applied the bus command that receives it.

        A command on the bus is applied asynchronously; until then the dossier is
        unknown (404). Gives up with ``TimeoutError`` after ``timeout`` seconds (a
        rejected command never produces the dossier: its reason is on
        ``intake.results``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await self.get_dossier(dossier_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
            if time.monotonic() >= deadline:
                raise TimeoutError(f"dossier {dossier_id} not received within {timeout} s")
            await asyncio.sleep(every)

    async def _transition(
        self,
        name: str,
        dossier_id: uuid.UUID,
        body: Mapping[str, Any],
        write: WriteOptions,
    ) -> dict[str, Any]:
        r = await self._call(
            name, {"dossier_id": dossier_id},
            body={**body, "occurred_at": _time(write.get("occurred_at"))},
            idempotency_key=write.get("idempotency_key"),
        )  # fmt: skip
        return dict(r.json())

    async def assign(
        self,
        dossier_id: uuid.UUID,
        *,
        assignee: str,
        department: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        body = {"assignee": assignee, "department": department}
        return await self._transition("assign", dossier_id, body, write)

    async def request_supplement(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str,
        missing_documents: Sequence[str] = (),
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        body = {"reason": reason, "missing_documents": list(missing_documents)}
        return await self._transition("request_supplement", dossier_id, body, write)

    async def provide_supplement(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        return await self._transition("provide_supplement", dossier_id, {"note": note}, write)

    async def notify_financial_obligation(
        self,
        dossier_id: uuid.UUID,
        *,
        amount_vnd: int | None = None,
        purpose: str | None = None,
        how_to_pay: str | None = None,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        body = {
            "amount_vnd": amount_vnd,
            "purpose": purpose,
            "how_to_pay": how_to_pay,
            "note": note,
        }
        return await self._transition("notify_financial_obligation", dossier_id, body, write)

    async def fulfil_financial_obligation(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        return await self._transition(
            "fulfil_financial_obligation", dossier_id, {"note": note}, write
        )

    async def resolve(
        self,
        dossier_id: uuid.UUID,
        *,
        outcome: Literal["approved", "refused"],
        reason: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        body = {"outcome": outcome, "reason": reason}
        return await self._transition("resolve", dossier_id, body, write)

    async def return_result(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        return await self._transition("return_result", dossier_id, {"note": note}, write)

    async def withdraw(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        return await self._transition("withdraw", dossier_id, {"reason": reason}, write)

    async def stop(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        return await self._transition("stop", dossier_id, {"reason": reason}, write)

    async def accept_dossier(
        self,
        dossier_id: uuid.UUID,
        *,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        """Accept a dossier filed online: its legal clock starts now."""
        return await self._transition("accept_dossier", dossier_id, {"note": note}, write)

    async def not_accept_dossier(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        """Refuse to accept a dossier filed online, saying why."""
        return await self._transition("not_accept_dossier", dossier_id, {"reason": reason}, write)

    async def transfer_dossier(
        self,
        dossier_id: uuid.UUID,
        *,
        to_agency: str,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        """Send the dossier to another agency (liên thông); the clock keeps running."""
        body = {"to_agency": to_agency, "note": note}
        return await self._transition("transfer_dossier", dossier_id, body, write)

    async def transfer_dossier_back(
        self,
        dossier_id: uuid.UUID,
        *,
        from_agency: str | None = None,
        note: str | None = None,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        """The other agency sent the dossier back."""
        body = {"from_agency": from_agency, "note": note}
        return await self._transition("transfer_dossier_back", dossier_id, body, write)

    async def return_for_rework(
        self,
        dossier_id: uuid.UUID,
        *,
        reason: str,
        **write: Unpack[WriteOptions],
    ) -> dict[str, Any]:
        """Send the officer's work back to be done again, saying why."""
        return await self._transition("return_for_rework", dossier_id, {"reason": reason}, write)

    # --------------------------------------------------------------- queue: counter

    async def open_counter(
        self, counter_id: str, *, line_codes: Sequence[str] | None = None
    ) -> dict[str, Any]:
        body = {"line_codes": list(line_codes) if line_codes else None}
        r = await self._call("open_counter", {"counter_id": counter_id}, body=body)
        return dict(r.json())

    async def close_counter(self, counter_id: str) -> dict[str, Any]:
        return dict((await self._call("close_counter", {"counter_id": counter_id})).json())

    async def call_next(self, counter_id: str) -> dict[str, Any] | None:
        """The ticket now called to ``counter_id``, or ``None`` when nobody waits."""
        r = await self._call("call_next", {"counter_id": counter_id})
        return None if r.status_code == 204 else dict(r.json())

    async def list_tickets(self, *, status: str | None = None) -> list[Any]:
        return list((await self._call("list_tickets", query={"status": status})).json())

    async def _ticket(
        self, name: str, counter_id: str, ticket_id: uuid.UUID, body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        path = {"counter_id": counter_id, "ticket_id": ticket_id}
        return dict((await self._call(name, path, body=body)).json())

    async def recall(self, counter_id: str, ticket_id: uuid.UUID) -> dict[str, Any]:
        return await self._ticket("recall", counter_id, ticket_id, None)

    async def start_service(self, counter_id: str, ticket_id: uuid.UUID) -> dict[str, Any]:
        return await self._ticket("start_service", counter_id, ticket_id, None)

    async def finish_service(
        self, counter_id: str, ticket_id: uuid.UUID, *, dossier_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        body = {"dossier_id": str(dossier_id) if dossier_id else None}
        return await self._ticket("finish_service", counter_id, ticket_id, body)

    async def no_show(self, counter_id: str, ticket_id: uuid.UUID) -> dict[str, Any]:
        return await self._ticket("no_show", counter_id, ticket_id, None)

    async def transfer(
        self, counter_id: str, ticket_id: uuid.UUID, *, line_code: str
    ) -> dict[str, Any]:
        return await self._ticket("transfer", counter_id, ticket_id, {"line_code": line_code})

    async def cancel_ticket(
        self, ticket_id: uuid.UUID, *, reason: str | None = None
    ) -> dict[str, Any]:
        r = await self._call("cancel_ticket", {"ticket_id": ticket_id}, body={"reason": reason})
        return dict(r.json())

    async def requeue_ticket(self, ticket_id: uuid.UUID) -> dict[str, Any]:
        return dict((await self._call("requeue_ticket", {"ticket_id": ticket_id})).json())
