"""Sending a message on its channel: SMS gateways, e-mail, webhooks; plus the dev inbox.

``ChannelSender`` looks up the center's URL for the channel, waits for the
channel's rate limit, and hands the message to a transport: JSON and form
webhooks (``json://``, ``form://``: the usual HTTP SMS gateway, a Zalo OA bridge,
a push gateway) go over pooled keep-alive connections (``motcua.services.notify.webhooks``);
e-mail and every other scheme go through apprise, which blocks and so runs in a
thread pool. At most ``concurrency`` sends are in flight at once.

Every send carries the delivery id as its idempotency key: an ``Idempotency-Key``
header (webhooks, e-mail), and for e-mail also a stable ``Message-ID``. A send
that reached the far side just before a crash is then repeated with the same key,
and a receiver that dedupes on it shows the citizen one message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import importlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import apprise

from motcua.services.notify.domain import Channel
from motcua.services.notify.ratelimit import Pace
from motcua.shared.logging import get_logger, mask_text

if TYPE_CHECKING:
    from motcua.services.notify.webhooks import HttpTransport

log = get_logger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MESSAGE_ID_DOMAIN = "notify.motcua"


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    center_id: str
    channel: Channel
    address: str
    title: str
    body: str


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None
    permanent: bool = False  # retrying cannot help (e.g. a channel URL apprise rejects)


class Sender(Protocol):
    """Delivers one message on its channel; never raises for a failed send."""

    async def send(self, message: Outgoing) -> SendResult: ...

    async def aclose(self) -> None: ...


def message_id(delivery_id: uuid.UUID) -> str:
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def target_url(url: str, address: str) -> str:
    """The channel URL aimed at one recipient.

    ``{to}`` in the URL takes the address; otherwise it becomes apprise's ``to``
    (e-mail) or a ``to`` field of the request body (``:to``, JSON/form webhooks).
    """
    quoted = quote(address, safe="")  # '+' must not turn into a space in a query
    if "{to}" in url:
        return url.replace("{to}", quoted)
    scheme = url.partition("://")[0].lower()
    param = "to" if scheme in ("mailto", "mailtos") else ":to"
    return f"{url}{'&' if '?' in url else '?'}{param}={quoted}"


# ------------------------------------------------------------ apprise plumbing

_MESSAGE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "notify_message_id", default=None
)
_installed = threading.Lock()


def _install_stable_message_id() -> None:
    """apprise stamps each e-mail with a fresh random Message-ID. A repeated send
    of one delivery must carry the same one, so that mail systems drop the copy:
    wrap apprise's generator to use ours while a delivery is being sent."""
    with _installed:
        module: Any = importlib.import_module("apprise.plugins.email.base")
        original = getattr(module, "make_msgid", None)
        if original is None:  # apprise changed: e-mails keep its random Message-ID
            log.warning("notify.message_id_not_stable", reason="apprise has no make_msgid")
            return
        if getattr(original, "motcua_stable", False):
            return

        def make_msgid(idstring: str | None = None, domain: str | None = None) -> str:
            return _MESSAGE_ID.get() or str(original(idstring, domain))

        make_msgid.motcua_stable = True  # type: ignore[attr-defined]
        module.make_msgid = make_msgid


class _WarningsOfThisThread(logging.Handler):
    """apprise reports why a send failed only in its log; keep each thread's lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        lines: list[str] = []
        self.local.lines = lines
        try:
            yield lines
        finally:
            self.local.lines = None


_warnings = _WarningsOfThisThread()


def _install_warning_capture() -> None:
    logger = logging.getLogger("apprise")
    if _warnings not in logger.handlers:
        logger.addHandler(_warnings)


class AppriseTransport:
    """Sends with apprise (e-mail, and any scheme without a faster transport)."""

    def __init__(self, *, threads: int, timeout: float) -> None:
        self.timeout = timeout
        self.pool = concurrent.futures.ThreadPoolExecutor(threads, "notify-send")
        _install_stable_message_id()
        _install_warning_capture()

    async def send(self, url: str, message: Outgoing) -> SendResult:
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self.pool, self._send_blocking, url, message)
        try:
            return await asyncio.wait_for(work, self.timeout)
        except TimeoutError:
            # The thread may still finish the send; the idempotency key covers a repeat.
            return SendResult(False, f"no answer within {self.timeout:g}s")

    def _send_blocking(self, url: str, message: Outgoing) -> SendResult:
        plugin: Any = apprise.Apprise.instantiate(target_url(url, message.address))
        if plugin is None:
            return SendResult(False, f"apprise cannot use the {message.channel} URL", True)
        headers = getattr(plugin, "headers", None)
        if isinstance(headers, dict):
            headers[IDEMPOTENCY_HEADER] = str(message.delivery_id)
        # An SMS is its body alone; other channels also show the title.
        title = "" if message.channel == Channel.SMS else message.title
        token = _MESSAGE_ID.set(message_id(message.delivery_id))
        try:
            with _warnings.capture() as lines:
                # The text is plain (a clerk's reason, a citizen's name): said so, an
                # e-mail goes as text/plain, and a plugin that wants HTML gets it escaped,
                # never the text read as markup with links a clerk or citizen typed.
                ok = bool(
                    plugin.notify(
                        body=message.body, title=title, body_format=apprise.NotifyFormat.TEXT
                    )
                )
        except Exception as exc:  # a plugin bug must not kill the worker
            return SendResult(False, mask_text(f"{type(exc).__name__}: {exc}")[:500])
        finally:
            _MESSAGE_ID.reset(token)
        if ok:
            return SendResult(True)
        # apprise's warnings may name the recipient: mask before they reach the log.
        reason = "; ".join(lines) or f"{message.channel} send refused"
        return SendResult(False, mask_text(reason)[:500])

    async def aclose(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class ChannelSender:
    """Sends to the URL a center configured for the channel, at the channel's pace
    (``motcua.services.notify.ratelimit``), with at most ``concurrency`` sends in flight. The dev
    inbox needs no sending: the stored message is it.

    The pace wait comes before taking a send slot, so a channel at its limit does
    not hold up the other channels of a batch.
    """

    def __init__(
        self,
        urls_of: Callable[[str], Mapping[Channel, str]],
        *,
        pace: Pace,
        concurrency: int,
        http: HttpTransport,
        fallback: AppriseTransport,
    ) -> None:
        self.urls_of = urls_of
        self.pace = pace
        self.slots = asyncio.Semaphore(concurrency)
        self.http = http
        self.apprise = fallback

    async def send(self, message: Outgoing) -> SendResult:
        if message.channel == Channel.DEV_INBOX:
            return SendResult(True)
        url = self.urls_of(message.center_id).get(message.channel)
        if not url:
            return SendResult(False, f"no {message.channel} channel configured", permanent=True)
        await self.pace.wait(message.channel)
        endpoint = self.http.endpoint(url)
        async with self.slots:
            if endpoint is not None:
                return await self.http.send(endpoint, message)
            return await self.apprise.send(url, message)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.apprise.aclose()
