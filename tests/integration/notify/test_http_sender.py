"""The keep-alive HTTP transport against a real loopback HTTP server: the request it
sends is the one apprise sends, and one gateway is reached over a few reused
connections instead of one connection per message."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from motcua.devtools.embedded import free_port
from motcua.devtools.sinks import HttpSink, RawRequest
from motcua.services.notify.channels import AppriseTransport, ChannelSender, Outgoing
from motcua.services.notify.domain import Channel
from motcua.services.notify.ratelimit import LocalPace
from motcua.services.notify.webhooks import HttpTransport, parse_endpoint

BODY = "Hồ sơ HS-00000042 đã được tiếp nhận.\nTừ chối nhận tin: https://m.vn/optout/o1?a=1&b=2"
PHONE = "+84901234567"


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    s = await HttpSink().start()
    yield s
    await s.stop()


@pytest.fixture
async def transports() -> AsyncIterator[tuple[HttpTransport, AppriseTransport]]:
    http = HttpTransport(connections=8, timeout=10)
    apprise = AppriseTransport(threads=2, timeout=10)
    yield http, apprise
    await http.aclose()
    await apprise.aclose()


def message(channel: Channel = Channel.SMS, to: str = PHONE, body: str = BODY) -> Outgoing:
    return Outgoing(uuid.uuid4(), "c-1", channel, to, "Đã tiếp nhận hồ sơ HS-00000042", body)


def comparable(r: RawRequest) -> tuple[str, str, dict[str, str], bytes]:
    # Both clients offer keep-alive and the same encodings; only the library differs.
    return r.method, r.target, r.headers, r.body


URLS = [
    "json://127.0.0.1:{port}/sms",
    "json://gw:k3y@127.0.0.1:{port}/send/{{to}}?+X-Api-Key=a%20b&-sender=UBND&:message=text&:title=",
    "jsons://127.0.0.1:{port}/unused?verify=no",  # parsed only: the sink speaks plain HTTP
    "form://127.0.0.1:{port}/form?-phone={{to}}&:message=msg&:brand=motcua",
    "form://127.0.0.1:{port}/get?method=GET",
    # Headers the URL sets, in any case, replace the defaults as with apprise.
    "form://127.0.0.1:{port}/typed?+content-type=application/x-www-form-urlencoded;charset=UTF-8"
    "&+accept=text/html&+connection=close",
    "json://127.0.0.1:{port}/put?method=PUT&+content-TYPE=application/json;charset=utf-8"
    "&+user-agent=gw",
]


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.WEBHOOK])
@pytest.mark.parametrize("template", [u for u in URLS if "jsons" not in u])
async def test_the_request_is_the_one_apprise_sends(
    sink: HttpSink,
    transports: tuple[HttpTransport, AppriseTransport],
    template: str,
    channel: Channel,
) -> None:
    http, apprise = transports
    url = template.format(port=sink.port)
    endpoint = http.endpoint(url)
    assert endpoint is not None
    sent = message(channel)
    assert (await apprise.send(url, sent)).ok
    assert (await http.send(endpoint, sent)).ok
    by_apprise, by_us = sink.requests
    assert comparable(by_us) == comparable(by_apprise)
    assert by_us.headers["idempotency-key"] == str(sent.delivery_id)


def test_the_url_is_read_as_apprise_reads_it() -> None:
    endpoint = parse_endpoint(URLS[1].format(port=8080))
    assert endpoint is not None
    aimed = endpoint.aimed_at(PHONE)
    assert aimed.url == f"http://127.0.0.1:8080/send/{PHONE}"
    assert (aimed.headers, aimed.params, aimed.auth) == (
        {"X-Api-Key": "a b"},
        {"sender": "UBND"},
        ("gw", "k3y"),
    )
    secure = parse_endpoint(URLS[2].format(port=8443))
    assert secure is not None
    assert secure.origin == ("https", "127.0.0.1", 8443, False)
    assert secure.extras == {"to": "motcuarecipient7f3a"}  # the recipient goes in the body


def test_other_schemes_and_urls_apprise_rejects_are_not_for_this_transport() -> None:
    assert parse_endpoint("mailto://127.0.0.1:2525?from=a@b.vn") is None
    assert parse_endpoint("xml://gw.local/sms") is None
    assert parse_endpoint("json://") is None


async def test_one_gateway_is_reached_over_a_few_kept_alive_connections() -> None:
    sink = await HttpSink(delay=0.02).start()  # slow answers keep sends in flight together
    http = HttpTransport(connections=4, timeout=10)
    apprise = AppriseTransport(threads=2, timeout=10)
    sender = ChannelSender(
        lambda _: {Channel.SMS: sink.url("/sms"), Channel.EMAIL: sink.url("/apprise")},
        pace=LocalPace({}),
        concurrency=4,
        http=http,
        fallback=apprise,
    )
    try:
        for _ in range(2):
            results = await asyncio.gather(
                *(sender.send(message(to=f"+8490{i:07d}")) for i in range(40))
            )
            assert all(r.ok for r in results)
        assert len(sink.delivered) == 80
        # Sends overlap (a serial sender would show 1) but never exceed the 4 allowed.
        assert sink.max_in_flight >= 2, sink.max_in_flight
        assert sink.max_in_flight <= 4, sink.max_in_flight
        assert sink.connections <= 4  # 80 messages, at most 4 connections, all reused
        assert list(http.clients) == [("http", "127.0.0.1", sink.port, True)]

        # The apprise path, for contrast, opens a connection per message.
        before = sink.connections
        await asyncio.gather(*(apprise.send(sink.url("/apprise"), message()) for _ in range(5)))
        assert sink.connections == before + 5
    finally:
        await sender.aclose()
        await sink.stop()


async def test_each_gateway_gets_its_own_client_opened_on_first_use_and_closed() -> None:
    sinks = [await HttpSink().start(), await HttpSink().start()]
    http = HttpTransport(connections=2, timeout=10)
    try:
        assert http.clients == {}  # nothing opens before the first send
        for s in sinks:
            endpoint = http.endpoint(s.url("/sms"))
            assert endpoint is not None
            assert (await http.send(endpoint, message())).ok
            assert (await http.send(endpoint, message())).ok
        clients = list(http.clients.values())
        assert len(clients) == 2
        assert [s.connections for s in sinks] == [1, 1]
    finally:
        await http.aclose()
        for s in sinks:
            await s.stop()
    assert http.clients == {}
    assert all(c.closed for c in clients)


async def test_a_refusing_or_absent_gateway_is_a_failure_that_names_neither_message_nor_address(
    sink: HttpSink, transports: tuple[HttpTransport, AppriseTransport]
) -> None:
    http, _ = transports
    sink.fail_paths.add("/down")
    secret = "K7Q2M-9XD4T"
    sent = message(body=f"{BODY} {secret}")
    for url, expected in [
        (sink.url("/down"), "500"),
        (f"json://127.0.0.1:{free_port()}/sms", "cannot reach the sms gateway"),
    ]:
        endpoint = http.endpoint(url)
        assert endpoint is not None
        result = await http.send(endpoint, sent)
        assert (result.ok, result.permanent) == (False, False)
        assert result.error is not None
        assert expected in result.error
        assert not any(s in result.error for s in (PHONE, PHONE[3:], secret, "HS-00000042"))


async def test_a_url_apprise_rejects_fails_for_good_and_the_dev_inbox_needs_no_send() -> None:
    http = HttpTransport(connections=1, timeout=5)
    sender = ChannelSender(
        lambda _: {Channel.SMS: "json://"},
        pace=LocalPace({}),
        concurrency=1,
        http=http,
        fallback=AppriseTransport(threads=1, timeout=5),
    )
    try:
        broken = await sender.send(message())
        assert (broken.ok, broken.permanent) == (False, True)
        unconfigured = await sender.send(message(Channel.EMAIL))
        assert (unconfigured.ok, unconfigured.permanent) == (False, True)
        assert (await sender.send(message(Channel.DEV_INBOX))).ok
        assert http.clients == {}
    finally:
        await sender.aclose()


async def test_a_channel_at_its_rate_limit_waits_before_taking_a_send_slot(
    sink: HttpSink,
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        assert sender.slots.locked() is False  # waiting holds no send slot
        waits.append(seconds)

    sender = ChannelSender(
        lambda _: {Channel.SMS: sink.url("/sms")},
        # A burst of one, then one every 0.1 s; no time passes, so every later token is owed.
        pace=LocalPace({Channel.SMS: 10.0}, sleep=sleep, clock=lambda: 0.0),
        concurrency=1,
        http=HttpTransport(connections=1, timeout=5),
        fallback=AppriseTransport(threads=1, timeout=5),
    )
    try:
        results: list[Any] = [await sender.send(message()) for _ in range(3)]
    finally:
        await sender.aclose()
    assert all(r.ok for r in results)
    assert waits == pytest.approx([0.1, 0.2])
    assert len(sink.delivered) == 3


async def test_a_silent_or_hanging_up_gateway_is_a_failure_that_says_which(
    sink: HttpSink,
) -> None:
    sink.delays["/silent"] = 3.0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the request arrived; no answer comes
        writer.close()

    rude = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    rude_port = rude.sockets[0].getsockname()[1]
    patient, hurried = (
        HttpTransport(connections=2, timeout=10),
        HttpTransport(connections=2, timeout=0.3),
    )
    cases = [
        (patient, sink.url("/silent") + "?rto=0.3", "no answer from the sms gateway"),
        (hurried, sink.url("/silent"), "no answer within 0.3s"),
        (patient, f"json://127.0.0.1:{rude_port}/sms", "cannot reach the sms gateway"),
    ]
    try:
        for http, url, expected in cases:
            endpoint = http.endpoint(url)
            assert endpoint is not None
            result = await http.send(endpoint, message())
            assert (result.ok, result.permanent) == (False, False)
            assert result.error is not None
            assert expected in result.error
            assert PHONE[3:] not in result.error
            assert str(sink.port) not in result.error
            assert str(rude_port) not in result.error
        # The gateway answers again: the session that timed out still sends.
        endpoint = patient.endpoint(sink.url("/sms"))
        assert endpoint is not None
        assert (await patient.send(endpoint, message())).ok
    finally:
        await patient.aclose()
        await hurried.aclose()
        rude.close()
        await rude.wait_closed()


async def test_through_the_proxy_of_the_environment_as_apprise_goes(
    sink: HttpSink,
    transports: tuple[HttpTransport, AppriseTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sink stands for an HTTP proxy: it sees the gateway's full URL as the target.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://px:s3cret@127.0.0.1:{sink.port}")
    http, apprise = transports
    url = "json://gw.invalid:8080/sms"
    endpoint = http.endpoint(url)
    assert endpoint is not None
    sent = message()
    assert (await apprise.send(url, sent)).ok
    assert (await http.send(endpoint, sent)).ok
    by_apprise, by_us = sink.requests
    assert by_us.target == "http://gw.invalid:8080/sms"
    assert by_us.headers["proxy-authorization"] == by_apprise.headers["proxy-authorization"]
    assert comparable(by_us) == comparable(by_apprise)
