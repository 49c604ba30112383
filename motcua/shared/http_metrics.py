"""Every HTTP answer a service gives, counted by route and status (``/metrics``).

The error-rate alert needs the services' own 5xx count: the Ingress controller's figures
miss the calls that never pass through it (one service calling another, the probes) and
do not say which route failed. The route is the template (``/v1/dossiers/{dossier_id}``),
never the raw path, so that a scan of random URLs cannot grow the series without bound;
a request no route matched is counted under ``<unmatched>``, and a method outside the
standard ones under ``OTHER``, for the same reason.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.shared.metrics import HTTP_RESPONSES

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class CountResponses:
    """ASGI middleware adding one to ``motcua_http_responses_total`` per answer."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # ``labels()`` costs ~13 us a call; the children, once made, are kept. The keys
        # are bounded: routes are templates, methods are METHODS or OTHER.
        self._children: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except BaseException:
            # Unhandled: the server's last-resort handler answers 500 above us. A
            # response already started keeps its status; the client saw that one.
            if status == 0:
                status = 500
            raise
        finally:
            self._count(scope, status or 500)

    def _count(self, scope: Scope, status: int) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        key = (method, template, status)
        child = self._children.get(key)
        if child is None:
            child = HTTP_RESPONSES.labels(
                service=self.service, method=method, route=template, code=str(status)
            )
            self._children[key] = child
        child.inc()
