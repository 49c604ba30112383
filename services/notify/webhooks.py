"""Keep-alive HTTP for the JSON and form webhooks an SMS gateway, a Zalo OA bridge
or a push gateway sits behind (``json://``, ``jsons://``, ``form://``, ``forms://``).

apprise opens a new connection, in a thread, for every message; at gateway rates
that is most of the cost of a send. This transport sends the very request apprise
would: the channel URL is parsed by apprise (once per URL), and the body, query,
headers (``Idempotency-Key`` included) and basic auth are built the way its JSON
and form plugins build them. Requests go over one pooled ``httpx.AsyncClient`` per
gateway (scheme, host, port), created on first use inside the running service and
closed when the delivery worker stops.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import apprise
import httpx
from apprise.plugins.custom_form import NotifyForm
from apprise.plugins.custom_json import NotifyJSON

from services.notify.channels import IDEMPOTENCY_HEADER, Outgoing, SendResult, target_url
from services.notify.domain import Channel
from shared.logging import mask_text

HTTP_SCHEMES = frozenset({"json", "jsons", "form", "forms"})
NOTIFY_TYPE = "info"  # apprise's default notification type, as its plugins send it
# Stands for the recipient while a URL is parsed: letters and digits only, so URL
# quoting and apprise's unquoting leave it as it is, wherever ``{to}`` put it.
_RECIPIENT = "motcuarecipient7f3a"
# Below the 5 s idle timeout common servers use, so a pooled connection is not
# reused just as the gateway closes it.
KEEPALIVE_SECONDS = 4.0


def is_http_url(url: str) -> bool:
    return url.partition("://")[0].lower() in HTTP_SCHEMES


Origin = tuple[str, str, int | None, bool]  # scheme, host, port, verify certificates


@dataclass(frozen=True)
class Endpoint:
    """The request apprise would make for one channel URL, minus message and recipient."""

    form: bool
    method: str
    origin: Origin
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    extras: dict[str, str]  # payload entries the URL adds, renames (JSON) or maps (form)
    fields: dict[str, str]  # form field names of version/title/message/type ("" drops one)
    version: str
    user_agent: str
    auth: tuple[str, str] | None
    redirects: bool
    timeout: tuple[float, float]  # connect, read

    @property
    def url(self) -> str:
        scheme, host, port, _ = self.origin
        return f"{scheme}://{host}{f':{port}' if port is not None else ''}{self.path}"

    def aimed_at(self, address: str) -> Endpoint:
        def fill(values: dict[str, str]) -> dict[str, str]:
            return {k: v.replace(_RECIPIENT, address) for k, v in values.items()}

        return replace(
            self,
            path=self.path.replace(_RECIPIENT, address),
            params=fill(self.params),
            headers=fill(self.headers),
            extras=fill(self.extras),
        )


def parse_endpoint(url: str) -> Endpoint | None:
    """The JSON or form request behind a channel URL; None when another transport
    must send it (another scheme, or a URL apprise does not take)."""
    if not is_http_url(url):
        return None
    parsed = apprise.Apprise.instantiate(target_url(url, _RECIPIENT))
    if not isinstance(parsed, NotifyJSON | NotifyForm):
        return None
    form = isinstance(parsed, NotifyForm)
    plugin: Any = parsed  # the attributes its send() reads
    return Endpoint(
        form=form,
        method=str(plugin.method),
        origin=(
            "https" if plugin.secure else "http",
            str(plugin.host),
            plugin.port if isinstance(plugin.port, int) else None,
            bool(plugin.verify_certificate),
        ),
        path=str(plugin.fullpath or ""),
        params={str(k): str(v) for k, v in plugin.params.items()},
        headers={str(k): str(v) for k, v in plugin.headers.items()},
        extras={str(k): str(v) for k, v in plugin.payload_extras.items()},
        fields={str(k): str(v) for k, v in plugin.payload_map.items()} if form else {},
        version=str(plugin.form_version if form else plugin.json_version),
        user_agent=str(plugin.app_id),
        auth=(str(plugin.user), str(plugin.password or "")) if plugin.user else None,
        redirects=bool(plugin.redirects),
        timeout=(float(plugin.request_timeout[0]), float(plugin.request_timeout[1])),
    )


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    content: bytes | None


def build_request(endpoint: Endpoint, message: Outgoing) -> Request:
    """What apprise's JSON or form plugin would send for this message."""
    e = endpoint.aimed_at(message.address)
    # An SMS is its body alone; other channels also show the title (as with apprise).
    title = "" if message.channel == Channel.SMS else message.title
    headers = {"User-Agent": e.user_agent}
    if e.form:
        headers |= e.headers | {IDEMPOTENCY_HEADER: str(message.delivery_id)}
        values = (
            ("version", e.version),
            ("title", title),
            ("message", message.body),
            ("type", NOTIFY_TYPE),
        )
        form = {e.fields[k]: v for k, v in values if e.fields.get(k)} | e.extras
        if e.method == "GET":
            return Request(e.method, e.url, form | e.params, headers, None)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return Request(e.method, e.url, e.params, headers, urlencode(form).encode())
    headers |= {"Content-Type": "application/json"} | e.headers
    headers[IDEMPOTENCY_HEADER] = str(message.delivery_id)
    payload: dict[str, Any] = {
        "version": e.version,
        "title": title,
        "message": message.body,
        "attachments": [],
        "type": NOTIFY_TYPE,
    }
    for key, value in e.extras.items():  # apprise's rules: rename, drop ("") or add
        if key in payload:
            if value:
                payload[value] = payload[key]
            del payload[key]
        else:
            payload[key] = value
    return Request(e.method, e.url, e.params, headers, json.dumps(payload).encode())


def _cache_missing_sniffio() -> None:
    """httpcore tries ``import sniffio`` on every lock it sets up, and a failed import
    is not cached: without sniffio installed that costs several file-system scans per
    request (encode/httpcore#1103). Record the absence once, as a finished import would."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class HttpTransport:
    """Sends JSON and form webhooks over pooled keep-alive connections."""

    def __init__(self, *, connections: int, timeout: float) -> None:
        """``connections``: most open connections per gateway; ``timeout``: one send."""
        self.connections = connections
        self.timeout = timeout
        self.clients: dict[Origin, httpx.AsyncClient] = {}
        self._endpoints: dict[str, Endpoint | None] = {}
        _cache_missing_sniffio()

    def endpoint(self, url: str) -> Endpoint | None:
        """The parsed URL (cached), or None if this transport cannot send to it."""
        if url not in self._endpoints:
            self._endpoints[url] = parse_endpoint(url)
        return self._endpoints[url]

    def client(self, origin: Origin) -> httpx.AsyncClient:
        """The gateway's shared client, opened on first use (never at import)."""
        found = self.clients.get(origin)
        if found is None:
            found = self.clients[origin] = httpx.AsyncClient(
                verify=origin[3],
                limits=httpx.Limits(
                    max_connections=self.connections,
                    max_keepalive_connections=self.connections,
                    keepalive_expiry=KEEPALIVE_SECONDS,
                ),
            )
        return found

    async def send(self, endpoint: Endpoint, message: Outgoing) -> SendResult:
        """Never raises for a failed send; errors never carry the message or URL."""
        r = build_request(endpoint, message)
        connect, read = endpoint.timeout
        try:
            async with asyncio.timeout(self.timeout):  # the URL's timeouts bound each step
                response = await self.client(endpoint.origin).request(
                    r.method,
                    r.url,
                    params=r.params or None,
                    headers=r.headers,
                    content=r.content,
                    auth=endpoint.auth,
                    follow_redirects=endpoint.redirects,
                    timeout=httpx.Timeout(read, connect=connect, pool=self.timeout),
                )
        except TimeoutError:
            # It may have arrived all the same; the idempotency key covers a repeat.
            return SendResult(False, f"no answer within {self.timeout:g}s")
        except httpx.TimeoutException as exc:
            return SendResult(False, f"no answer from the {message.channel} gateway ({_name(exc)})")
        except httpx.HTTPError as exc:
            return SendResult(False, f"cannot reach the {message.channel} gateway: {_name(exc)}")
        except Exception as exc:  # a transport bug must not kill the worker
            return SendResult(False, mask_text(f"{type(exc).__name__}: {exc}")[:500])
        if 200 <= response.status_code < 300:
            return SendResult(True)
        kind = "Form" if endpoint.form else "JSON"
        return SendResult(
            False,
            f"{kind} {r.method} to the {message.channel} gateway answered "
            f"{response.status_code} {response.reason_phrase}",
        )

    async def aclose(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            await client.aclose()


def _name(exc: Exception) -> str:
    # httpx messages can quote the URL, which may hold the recipient or credentials.
    return type(exc).__name__
