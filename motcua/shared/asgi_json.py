"""A JSON answer sent from an ASGI middleware, before or instead of the app.

Middleware that refuses a request (too large a body, an operations path the caller may
not see) answers below FastAPI, where no response class exists: it speaks ASGI itself.
"""

from __future__ import annotations

import json

from starlette.types import Send


async def send_json(send: Send, status: int, content: object, *, close: bool = False) -> None:
    """Send ``content`` as a whole JSON response; ``close`` asks the client to hang up
    (the rest of a refused body is never read, so the connection cannot be reused)."""
    body = json.dumps(content).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
