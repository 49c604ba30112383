"""Who may read the operations endpoints: the API documents, metrics, readiness details.

``/docs``, ``/redoc``, ``/openapi.json``, ``/asyncapi`` and ``/metrics`` map the attack
surface and the traffic, and ``/readyz`` names what failed; none is for the internet.
In development they are open. Otherwise a request may read them when it either

* carries ``Authorization: Bearer <MOTCUA_OPS_TOKEN>``, or
* reaches the service directly while the deployment sits behind proxies
  (``MOTCUA_TRUSTED_PROXIES`` set) and carries no ``X-Forwarded-For``: a request from
  the internet comes through the proxy, which always adds that header and cannot be made
  to drop it, so a request without it comes from inside (Prometheus, the kubelet).

Anything else gets a 404, as if the path did not exist. ``/readyz`` itself always
answers (probes need it), but only ``{"ready": ...}`` unless the caller may see more.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from motcua.shared.asgi_json import send_json
from motcua.shared.settings import ServiceSettings

OPS_PREFIXES = ("/docs", "/redoc", "/openapi.json", "/asyncapi", "/metrics")


def ops_allowed(request: HTTPConnection, settings: ServiceSettings) -> bool:
    if settings.dev_mode:
        return True
    token = settings.ops_token.get_secret_value() if settings.ops_token else ""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given = given.strip()
    if (
        token
        and scheme.lower() == "bearer"
        and given.isascii()
        and hmac.compare_digest(given.encode(), token.encode())
    ):
        return True
    return bool(settings.trusted_proxies) and "x-forwarded-for" not in request.headers


def is_ops_path(path: str) -> bool:
    return any(
        path == p or path.startswith(p + "/") or path.startswith(p + ".") for p in OPS_PREFIXES
    )


class OpsAccess:
    """ASGI middleware: a 404 for the operations paths unless ``ops_allowed``."""

    def __init__(self, app: ASGIApp, settings: ServiceSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and is_ops_path(scope["path"])
            and not ops_allowed(HTTPConnection(scope), self.settings)
        ):
            await send_json(send, 404, {"error": "Not Found"})
            return
        await self.app(scope, receive, send)
