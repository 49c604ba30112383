"""A cap on request bodies, for every route of every service.

Handlers read a body whole before checking it (a form, a JSON document), so without a cap
one large POST to a public route fills the pod's memory. The cap is enforced twice: a
declared ``Content-Length`` over it is refused before a byte is read, and a body streamed
without one (chunked) is cut off as soon as it passes the cap. Either way the answer is a
413 naming the limit, in the error shape every refusal has.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.shared.asgi_json import send_json


def _detail(limit: int) -> dict[str, object]:
    return {
        "error": "request body too large",
        "details": [{"field": "body", "error": f"at most {limit} bytes are accepted"}],
    }


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes``."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, streamed: Sequence[re.Pattern[str]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Paths whose routes stream the body and enforce a cap of their own (uploads):
        # the list is the runtime's, so routes added after the app may join it.
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(p.fullmatch(scope["path"]) for p in self.streamed):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised inside the handler's read: the app's error handlers answer it.
                    raise TooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, watched_send)
        except TooLarge:
            # Read outside the error handlers' reach (a middleware): answer here if we can.
            if not started:
                await _refuse(send, self.max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _refuse(send: Send, limit: int) -> None:
    await send_json(send, 413, _detail(limit), close=True)
