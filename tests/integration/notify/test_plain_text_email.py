"""Citizens' e-mails are plain text: typed values are never read as HTML."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from motcua.devtools.embedded import free_port
from motcua.services.notify.channels import AppriseTransport, Outgoing
from motcua.services.notify.domain import Channel, Kind
from motcua.services.notify.message_templates import Renderer
from tests.support.waiting import eventually

EVIL = '<a href="https://evil.example/pay">Nộp phí tại đây</a><script>alert(1)</script>'


class _Keep:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, smtp: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, _Keep]]:
    keep, port = _Keep(), free_port()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"mailto://127.0.0.1:{port}?from=thongbao@motcua.local&mode=insecure", keep
    controller.stop()


async def test_a_reason_with_markup_is_mailed_as_plain_text(smtp: tuple[str, _Keep]) -> None:
    url, keep = smtp
    rendered = Renderer().render(
        Kind.SUPPLEMENT_REQUESTED,
        "vi",
        {
            "dossier_code": "HS-<b>1</b>",
            "reason": EVIL,
            "missing_documents": [EVIL],
            "lookup_url": "https://motcua.example.org/lookup",
            "optout_url": "https://x/o",
        },
    )
    transport = AppriseTransport(threads=1, timeout=10)
    try:
        sent = await transport.send(
            url,
            Outgoing(
                uuid.uuid4(), "c-1", Channel.EMAIL, "dan@example.org", rendered.subject,
                rendered.body,
            ),
        )  # fmt: skip
    finally:
        await transport.aclose()
    assert sent.ok, sent.error

    async def mails() -> list[bytes]:
        return keep.raw

    [raw] = await eventually(mails, what="the e-mail")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    types = [part.get_content_type() for part in msg.walk() if not part.is_multipart()]
    assert types == ["text/plain"]  # no HTML part for a mail client to render
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    assert EVIL in body.get_content()  # the clerk's text, shown as typed
