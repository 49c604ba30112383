"""HTTP routes of the queue service: kiosk, counter, display board and statistics.

Thin: each route checks the caller, calls one use case or query, and shapes the
answer. Domain errors become HTTP answers by the table in ``app.py`` (404 naming the
unknown resource, 409 for a state conflict, 422 naming the field).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from motcua.services.queue import display
from motcua.services.queue.contact_limits import ContactLimits
from motcua.services.queue.domain import Status
from motcua.services.queue.queries import QueueQueries
from motcua.services.queue.schemas import (
    BoardOut,
    CancelIn,
    CenterOut,
    CounterOut,
    FinishIn,
    IssueTicketIn,
    OpenCounterIn,
    StatsOut,
    TicketOut,
    TransferIn,
    WaitingOut,
    WaitingStatsOut,
)
from motcua.services.queue.settings import QueueSettings
from motcua.services.queue.usecases import ContactInput, QueueService, TicketView
from motcua.shared.auth import Principal
from motcua.shared.client_address import client_key
from motcua.shared.http_errors import Responses
from motcua.shared.idempotency_key import idempotency_key
from motcua.shared.policy import Operation, allowed
from motcua.shared.runtime import from_app_state

router = APIRouter()

# Refusals are documented from what answers them (``motcua.shared.http_errors``); these
# say what they mean on the queue's routes.
_PUBLIC: Responses = {404: {"description": "Unknown center, line or ticket"}}
_READ = _PUBLIC
_CLERK: Responses = {404: {"description": "Unknown center, line, counter or ticket"}}

CenterId = Annotated[str, Path(min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    idempotency_key(
        1, 64, "Makes the request safe to retry: a repeat with the same key returns the same ticket"
    ),
]
CounterId = Annotated[str, Path(min_length=1, max_length=32)]


async def operator(
    center_id: CenterId, principal: Annotated[Principal, allowed(Operation.COUNTER_OPERATE)]
) -> Principal:
    """A staff token of this very center: a foreign center's token gets 403."""
    principal.require_center(center_id)
    return principal


async def ticket_reader(
    center_id: CenterId, principal: Annotated[Principal, allowed(Operation.TICKETS_READ)]
) -> Principal:
    principal.require_center(center_id)
    return principal


async def stats_reader(
    center_id: CenterId, principal: Annotated[Principal, allowed(Operation.QUEUE_STATS_READ)]
) -> Principal:
    principal.require_center(center_id)
    return principal


Service = Annotated[QueueService, from_app_state("queue")]
Queries = Annotated[QueueQueries, from_app_state("queries")]
Clerk = Annotated[Principal, Depends(operator)]
TicketReader = Annotated[Principal, Depends(ticket_reader)]
StatsReader = Annotated[Principal, Depends(stats_reader)]


def limit_contact_tickets(
    request: Request, settings: QueueSettings, contact: ContactInput | None
) -> None:
    """``TooMany`` (429) past the limits on tickets that make the center send a message."""
    limits: ContactLimits = request.app.state.contact_limits
    limits.check(client_key(request, settings.trusted_proxies), contact)


# ------------------------------------------------------------------ kiosk


@router.get(
    "/centers/{center_id}",
    tags=["kiosk"],
    summary="A center with its service lines and counters",
    responses=_PUBLIC,
)
async def get_center(center_id: CenterId, svc: Service) -> CenterOut:
    return CenterOut.of(svc.directory.center(center_id))


@router.post(
    "/centers/{center_id}/tickets",
    tags=["kiosk"],
    status_code=201,
    summary="Take a ticket for a service line",
    description="Answers the number, the place in the queue, the estimated wait and a "
    "short lookup code. An optional contact (with consent) is sealed for notices. "
    "Repeating a request with the same `Idempotency-Key` returns the same ticket (200).",
    responses={
        **_PUBLIC,
        200: {"model": TicketOut, "description": "Replayed request"},
        429: {"description": "Too many tickets with a contact; Retry-After"},
    },
)
async def issue_ticket(
    center_id: CenterId,
    body: IssueTicketIn,
    request: Request,
    svc: Service,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TicketOut:
    contact = body.contact.as_input() if body.contact else None
    limit_contact_tickets(request, svc.settings, contact)
    view = await svc.issue(
        center_id,
        body.line_code,
        priority_reason=body.priority_reason,
        contact=contact,
        idempotency_key=idempotency_key,
    )
    if view.replayed:
        response.status_code = 200
    return TicketOut.of(view)


@router.get(
    "/tickets/{lookup_code}",
    tags=["kiosk"],
    summary="A ticket's status by the code printed on it",
    responses=_PUBLIC,
)
async def ticket_status(
    lookup_code: Annotated[str, Path(min_length=4, max_length=16, pattern="^[A-Za-z0-9]+$")],
    q: Queries,
) -> TicketOut:
    return TicketOut.of(await q.ticket_by_code(lookup_code))


# ---------------------------------------------------------------- display


@router.get(
    "/centers/{center_id}/display",
    tags=["display"],
    summary="Display board: now serving per counter, last calls, waiting per line",
    responses=_PUBLIC,
)
async def display_state(center_id: CenterId, q: Queries) -> BoardOut:
    return BoardOut.of(await q.board(center_id))


@router.get(
    "/centers/{center_id}/display/stream",
    tags=["display"],
    summary="Display board changes as Server-Sent Events",
    description="First a `snapshot` event (the board state), then one event per committed "
    "change, named by its event type (e.g. `ticket.called`), and a fresh `snapshot` "
    "after any gap.",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **_PUBLIC,
        503: {"description": "Too many display streams from this client or in all; retry later"},
    },
)
async def display_stream(center_id: CenterId, request: Request, q: Queries) -> Response:
    q.service.directory.center(center_id)
    hub: display.DisplayHub = request.app.state.display
    settings: QueueSettings = q.service.settings
    # Subscribe before reading the snapshot, so that no change falls between the two.
    try:
        sub = hub.subscribe(center_id, client_key(request, settings.trusted_proxies))
    except display.Crowded as exc:
        return JSONResponse(
            {"error": f"{exc}; retry later"}, status_code=503, headers={"Retry-After": "30"}
        )
    try:
        first = BoardOut.of(await q.board(center_id)).model_dump(mode="json")
    except BaseException:
        sub.close()
        raise

    async def snapshot() -> Any:
        return BoardOut.of(await q.board(center_id)).model_dump(mode="json")

    return StreamingResponse(
        display.stream(
            sub,
            snapshot,
            first,
            keepalive=settings.sse_keepalive_seconds,
            max_seconds=settings.sse_max_seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/centers/{center_id}/waiting",
    tags=["display"],
    summary="Today's waiting tickets with position and estimated wait",
    responses=_PUBLIC,
)
async def waiting(center_id: CenterId, q: Queries) -> list[WaitingOut]:
    return [WaitingOut.of(v) for v in await q.waiting(center_id)]


# ---------------------------------------------------------------- counter


@router.post(
    "/centers/{center_id}/counters/{counter_id}/open",
    tags=["counter"],
    summary="Open a counter, optionally choosing the lines it serves",
    responses=_CLERK,
)
async def open_counter(
    center_id: CenterId,
    counter_id: CounterId,
    principal: Clerk,
    svc: Service,
    q: Queries,
    body: OpenCounterIn | None = None,
) -> CounterOut:
    await svc.open_counter(
        center_id,
        counter_id,
        clerk_id=principal.subject,
        line_codes=body.line_codes if body else None,
    )
    return await _counter(q, center_id, counter_id)


@router.post(
    "/centers/{center_id}/counters/{counter_id}/close",
    tags=["counter"],
    summary="Close a counter (it must hold no ticket)",
    responses=_CLERK,
)
async def close_counter(
    center_id: CenterId, counter_id: CounterId, _: Clerk, svc: Service, q: Queries
) -> CounterOut:
    await svc.close_counter(center_id, counter_id)
    return await _counter(q, center_id, counter_id)


@router.post(
    "/centers/{center_id}/counters/{counter_id}/call-next",
    tags=["counter"],
    summary="Call the next ticket: priority first, then issue order, under the fairness guard",
    response_model=TicketOut,
    responses={**_CLERK, 204: {"description": "Nobody waits on this counter's lines"}},
)
async def call_next(
    center_id: CenterId, counter_id: CounterId, _: Clerk, svc: Service
) -> TicketOut | Response:
    view = await svc.call_next(center_id, counter_id)
    if view is None:
        return Response(status_code=204)
    return TicketOut.of(view)


_TICKET_AT_COUNTER = "/centers/{center_id}/counters/{counter_id}/tickets/{ticket_id}"


def _ticket_move(
    move: Callable[[QueueService, str, str, uuid.UUID], Awaitable[TicketView]],
) -> Callable[..., Awaitable[TicketOut]]:
    """The route of a counter's move on one ticket that takes no body (recall, no-show,
    start): they differ only in the use case they call. The route takes the use case's
    name, which FastAPI makes its operation id."""

    async def route(
        center_id: CenterId, counter_id: CounterId, ticket_id: uuid.UUID, _: Clerk, svc: Service
    ) -> TicketOut:
        return TicketOut.of(await move(svc, center_id, counter_id, ticket_id))

    route.__name__ = route.__qualname__ = move.__name__
    return route


for _move, _summary in (
    (
        QueueService.recall,
        "Call the ticket again; after the last allowed call it becomes a no-show",
    ),
    (QueueService.no_show, "Mark a called ticket as no-show"),
    (QueueService.start, "Start serving a called ticket"),
):
    router.post(
        f"{_TICKET_AT_COUNTER}/{_move.__name__.replace('_', '-')}",
        tags=["counter"],
        summary=_summary,
        responses=_CLERK,
    )(_ticket_move(_move))


@router.post(
    f"{_TICKET_AT_COUNTER}/finish",
    tags=["counter"],
    summary="Finish the service, optionally linking the dossier it produced",
    responses=_CLERK,
)
async def finish(
    center_id: CenterId,
    counter_id: CounterId,
    ticket_id: uuid.UUID,
    _: Clerk,
    svc: Service,
    body: FinishIn | None = None,
) -> TicketOut:
    dossier_id = body.dossier_id if body else None
    return TicketOut.of(await svc.finish(center_id, counter_id, ticket_id, dossier_id))


@router.post(
    f"{_TICKET_AT_COUNTER}/transfer",
    tags=["counter"],
    summary="Move the ticket to another line, keeping its original place in the queue",
    responses={
        **_CLERK,
        422: {"description": "Malformed, or to the line it is already on"},
    },
)
async def transfer(
    center_id: CenterId,
    counter_id: CounterId,
    ticket_id: uuid.UUID,
    body: TransferIn,
    _: Clerk,
    svc: Service,
) -> TicketOut:
    return TicketOut.of(await svc.transfer(center_id, counter_id, ticket_id, body.line_code))


@router.post(
    "/centers/{center_id}/tickets/{ticket_id}/cancel",
    tags=["counter"],
    summary="Cancel a waiting or called ticket",
    responses=_CLERK,
)
async def cancel(
    center_id: CenterId,
    ticket_id: uuid.UUID,
    _: Clerk,
    svc: Service,
    body: CancelIn | None = None,
) -> TicketOut:
    return TicketOut.of(await svc.cancel(center_id, ticket_id, body.reason if body else None))


@router.post(
    "/centers/{center_id}/tickets/{ticket_id}/requeue",
    tags=["counter"],
    summary="Put a no-show back in the queue (same day only)",
    responses=_CLERK,
)
async def requeue(center_id: CenterId, ticket_id: uuid.UUID, _: Clerk, svc: Service) -> TicketOut:
    return TicketOut.of(await svc.requeue(center_id, ticket_id))


@router.get(
    "/centers/{center_id}/tickets",
    tags=["counter"],
    summary="Today's tickets of the center, optionally of one status",
    responses=_READ,
)
async def list_tickets(
    center_id: CenterId, _: TicketReader, q: Queries, status: Status | None = None
) -> list[TicketOut]:
    return [TicketOut.of(v) for v in await q.tickets_today(center_id, status)]


@router.get(
    "/centers/{center_id}/stats",
    tags=["statistics"],
    summary="Daily statistics per line and per counter",
    description="Issued, called, served, no-show, transferred; mean and p90 waiting time; "
    "mean service time. `day` is a local date (today when omitted).",
    responses=_READ,
)
async def daily_stats(
    center_id: CenterId, _: StatsReader, q: Queries, day: Annotated[date | None, Query()] = None
) -> StatsOut:
    return StatsOut.of(await q.daily_stats(center_id, day))


@router.get(
    "/centers/{center_id}/stats/waiting",
    tags=["statistics"],
    summary="The day's waiting-time distribution (public, aggregate only)",
    description="How long called tickets waited, in buckets of minutes; no ticket, number or "
    "contact. Public, like the display board, so the leaders' dashboard can draw it.",
    responses=_READ,
)
async def waiting_distribution(
    center_id: CenterId, q: Queries, day: Annotated[date | None, Query()] = None
) -> WaitingStatsOut:
    return WaitingStatsOut.of(await q.wait_distribution(center_id, day))


async def _counter(q: QueueQueries, center_id: str, counter_id: str) -> CounterOut:
    counters = await q.counters(center_id)
    return CounterOut.of(next(c for c in counters if c.counter_id == counter_id))
