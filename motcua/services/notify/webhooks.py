"""Keep-alive HTTP for the JSON and form webhooks an SMS gateway, a Zalo OA bridge
or a push gateway sits behind (``json://``, ``jsons://``, ``form://``, ``forms://``).

apprise opens a new connection, in a thread, for every message; at gateway rates
that is most of the cost of a send. This transport sends the very request apprise
would: the channel URL is parsed by apprise (once per URL), the body, query,
headers (``Idempotency-Key`` included) and basic auth are built the way its JSON
and form plugins build them, and the target URL, default headers, proxy and CA
bundle are the ones ``requests`` (apprise's HTTP client) would use. Requests go
over one ``aiohttp.ClientSession`` per gateway (scheme, host, port), opened on
first use inside the running service and closed when the delivery worker stops.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import aiohttp
import apprise
import requests
from apprise.plugins.custom_form import NotifyForm
from apprise.plugins.custom_json import NotifyJSON
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy
from yarl import URL

from motcua.services.notify.channels import IDEMPOTENCY_HEADER, Outgoing, SendResult, target_url
from motcua.services.notify.domain import Channel
from motcua.shared.logging import mask_text

HTTP_SCHEMES = frozenset({"json", "jsons", "form", "forms"})
NOTIFY_TYPE = "info"  # apprise's default notification type, as its plugins send it
# Stands for the recipient while a URL is parsed: letters and digits only, so URL
# quoting and apprise's unquoting leave it as it is, wherever ``{to}`` put it.
_RECIPIENT = "motcuarecipient7f3a"
# Below the 5 s idle timeout common servers use, so a pooled connection is not
# reused just as the gateway closes it.
KEEPALIVE_SECONDS = 4.0
# What requests sends with every request unless told otherwise (User-Agent aside).
_DEFAULT_HEADERS = {
    k: v for k, v in requests.utils.default_headers().items() if k.lower() != "user-agent"
}
_MAX_REDIRECTS = requests.models.DEFAULT_REDIRECT_LIMIT
_FORM = "application/x-www-form-urlencoded"


def is_http_url(url: str) -> bool:
    return url.partition("://")[0].lower() in HTTP_SCHEMES


Origin = tuple[str, str, int | None, bool]  # scheme, host, port, verify certificates


def _prepared_url(url: str) -> str:
    """``url`` as requests sends it (IDNA host, quoted path, dot segments removed)."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    assert prepared.url is not None
    return prepared.url


def _basic(user: str, password: str) -> str:
    """A basic auth header as requests builds it (latin-1, as it encodes strings)."""
    try:
        raw = f"{user}:{password}".encode("latin1")
    except UnicodeEncodeError:
        raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _merged(*layers: dict[str, str]) -> dict[str, str]:
    """Header dicts merged as requests merges them: later wins, names without case."""
    merged: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for layer in layers:
        merged.update(layer)
    return dict(merged.items())


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
        return replace(
            self,
            path=self.path.replace(_RECIPIENT, address),
            params=_filled(self.params, address),
            headers=_filled(self.headers, address),
            extras=_filled(self.extras, address),
        )

    # What does not change from one message to the next is worked out once.

    @cached_property
    def addressed(self) -> bool:
        """Whether the recipient shows in the URL or the headers, not only in the body."""
        parts = [self.path, *self.params.values(), *self.headers.values()]
        return any(_RECIPIENT in p for p in parts)

    @cached_property
    def prepared_url(self) -> str:
        """The URL without its query, as requests sends it."""
        return _prepared_url(self.url)

    @cached_property
    def request_headers(self) -> dict[str, str]:
        """Every header but the idempotency key, in the order the plugin sets them."""
        own = {"User-Agent": self.user_agent}
        if self.form:
            own = _merged(own, self.headers)
            if self.method != "GET":  # requests adds the form type unless one is given
                own = _merged({"Content-Type": _FORM}, own)
        else:
            own = _merged(own, {"Content-Type": "application/json"}, self.headers)
        # requests sets basic auth over any header; the key last, so that its name
        # has one spelling whatever the URL added.
        auth = {"Authorization": _basic(*self.auth)} if self.auth else {}
        return _merged(_DEFAULT_HEADERS, own, auth, {IDEMPOTENCY_HEADER: ""})

    @cached_property
    def client_timeout(self) -> aiohttp.ClientTimeout:
        """requests' (connect, read): to open a connection, then between reads."""
        connect, read = self.timeout
        return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


def _filled(values: dict[str, str], address: str) -> dict[str, str]:
    return {k: v.replace(_RECIPIENT, address) for k, v in values.items()}


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
    url: str  # quoted as sent, query included
    headers: dict[str, str]
    content: bytes | None


def build_request(endpoint: Endpoint, message: Outgoing) -> Request:
    """What apprise's JSON or form plugin would send for this message."""
    # Usually the recipient is in the body alone: what the endpoint worked out once
    # (URL, headers) then serves every message.
    e = endpoint.aimed_at(message.address) if endpoint.addressed else endpoint
    extras = e.extras if endpoint.addressed else _filled(e.extras, message.address)
    # An SMS is its body alone; other channels also show the title (as with apprise).
    title = "" if message.channel == Channel.SMS else message.title
    headers = e.request_headers.copy()
    headers[IDEMPOTENCY_HEADER] = str(message.delivery_id)
    url = e.prepared_url
    if e.form:
        values = (
            ("version", e.version),
            ("title", title),
            ("message", message.body),
            ("type", NOTIFY_TYPE),
        )
        form = {e.fields[k]: v for k, v in values if e.fields.get(k)} | extras
        if e.method == "GET":
            return Request(e.method, _with_query(url, form | e.params), headers, None)
        return Request(e.method, _with_query(url, e.params), headers, urlencode(form).encode())
    payload: dict[str, Any] = {
        "version": e.version,
        "title": title,
        "message": message.body,
        "attachments": [],
        "type": NOTIFY_TYPE,
    }
    for key, value in extras.items():  # apprise's rules: rename, drop ("") or add
        if key in payload:
            if value:
                payload[value] = payload[key]
            del payload[key]
        else:
            payload[key] = value
    return Request(e.method, _with_query(url, e.params), headers, json.dumps(payload).encode())


def _with_query(url: str, params: dict[str, str]) -> str:
    # requests' query encoding; its re-quoting of the whole URL leaves this as it is.
    return f"{url}?{urlencode(params)}" if params else url


@dataclass(frozen=True)
class _Route:
    """How requests would reach one gateway from this environment."""

    ssl: ssl.SSLContext | bool
    proxy: URL | None = None  # its credentials, if any, go as Proxy-Authorization


def _route(origin: Origin) -> _Route:
    """The proxy (``HTTP(S)_PROXY``, ``NO_PROXY``) and CA bundle (``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, else certifi's) requests would use for this gateway."""
    scheme, host, port, verify = origin
    url = f"{scheme}://{host}{f':{port}' if port is not None else ''}/"
    with requests.Session() as session:
        found = session.merge_environment_settings(url, {}, None, verify, None)
    context: ssl.SSLContext | bool = False
    if found["verify"] is not False:
        bundle = DEFAULT_CA_BUNDLE_PATH if found["verify"] is True else str(found["verify"])
        if os.path.isdir(bundle):
            context = ssl.create_default_context(capath=bundle)
        else:
            context = ssl.create_default_context(cafile=bundle)
    proxy = select_proxy(url, found["proxies"])
    return _Route(context, URL(proxy) if proxy else None)


class HttpTransport:
    """Sends JSON and form webhooks over pooled keep-alive connections."""

    def __init__(self, *, connections: int, timeout: float) -> None:
        """``connections``: most open connections per gateway; ``timeout``: one send."""
        self.connections = connections
        self.timeout = timeout
        self.clients: dict[Origin, aiohttp.ClientSession] = {}
        self._endpoints: dict[str, Endpoint | None] = {}

    def endpoint(self, url: str) -> Endpoint | None:
        """The parsed URL (cached), or None if this transport cannot send to it."""
        if url not in self._endpoints:
            self._endpoints[url] = parse_endpoint(url)
        return self._endpoints[url]

    def client(self, origin: Origin) -> aiohttp.ClientSession:
        """The gateway's shared session, opened on first use (never at import)."""
        found = self.clients.get(origin)
        if found is None:
            route = _route(origin)
            found = self.clients[origin] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.connections, keepalive_timeout=KEEPALIVE_SECONDS, ssl=route.ssl
                ),
                # As apprise: a fresh requests session per message keeps no cookies,
                # and the body is never read for its content.
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                proxy=route.proxy,
            )
        return found

    async def send(self, endpoint: Endpoint, message: Outgoing) -> SendResult:
        """Never raises for a failed send; errors never carry the message or URL."""
        try:
            r = build_request(endpoint, message)
            client = self.client(endpoint.origin)
            async with (
                asyncio.timeout(self.timeout),  # the URL's timeouts bound each step
                client.request(
                    r.method,
                    URL(r.url, encoded=True),
                    headers=r.headers,
                    data=r.content,
                    allow_redirects=endpoint.redirects,
                    max_redirects=_MAX_REDIRECTS,
                    timeout=endpoint.client_timeout,
                ) as response,
            ):
                await response.read()  # so that the connection goes back to the pool
        except aiohttp.ServerTimeoutError as exc:  # before TimeoutError: it is one too
            return SendResult(False, f"no answer from the {message.channel} gateway ({_name(exc)})")
        except TimeoutError:
            # It may have arrived all the same; the idempotency key covers a repeat.
            return SendResult(False, f"no answer within {self.timeout:g}s")
        except aiohttp.ClientError as exc:
            return SendResult(False, f"cannot reach the {message.channel} gateway: {_name(exc)}")
        except Exception as exc:  # a transport bug must not kill the worker
            return SendResult(False, mask_text(f"{type(exc).__name__}: {exc}")[:500])
        if 200 <= response.status < 300:
            return SendResult(True)
        kind = "Form" if endpoint.form else "JSON"
        return SendResult(
            False,
            f"{kind} {r.method} to the {message.channel} gateway answered "
            f"{response.status} {response.reason or ''}".rstrip(),
        )

    async def aclose(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            await client.close()


def _name(exc: Exception) -> str:
    # aiohttp messages can quote the URL, which may hold the recipient or credentials.
    return type(exc).__name__
