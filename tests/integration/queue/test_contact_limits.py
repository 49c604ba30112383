"""Tickets that make the center send a message are limited per client and per recipient."""

from __future__ import annotations

import httpx

from motcua.services.queue.app import create_app
from tests.integration.queue.conftest import QueueEnv
from tests.support.serving import serve


def _ticket(phone: str | None) -> dict[str, object]:
    body: dict[str, object] = {"line_code": "justice"}
    if phone:
        body["contact"] = {"kind": "phone", "value": phone, "consent": True}
    return body


async def test_tickets_with_a_contact_are_limited_per_recipient_and_per_client(
    queue_env: QueueEnv, center: str
) -> None:
    settings = queue_env.behind_proxy(
        contact_tickets_burst=4,
        contact_tickets_per_minute=0.001,
        recipient_tickets_burst=2,
        recipient_tickets_per_hour=0.001,
    )
    url = f"/centers/{center}/tickets"
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as http:

        async def take(phone: str | None, client: str = "192.0.2.10") -> httpx.Response:
            return await http.post(url, json=_ticket(phone), headers={"X-Forwarded-For": client})

        assert (await take("0912345678")).status_code == 201
        assert (await take("+84 912 345 678")).status_code == 201  # the same phone
        bombed = await take("0912.345.678", client="198.51.100.20")  # from elsewhere too
        assert bombed.status_code == 429, bombed.text
        assert "this contact" in bombed.json()["error"]
        assert int(bombed.headers["Retry-After"]) >= 1
        assert "0912" not in bombed.text  # the answer never repeats the number

        assert (await take("0987000001")).status_code == 201
        assert (await take("0987000002")).status_code == 201
        flood = await take("0987000003")  # the client's 5th: over its burst of 4
        assert flood.status_code == 429
        assert "from this address" in flood.json()["error"]
        # A ticket without a contact sends nothing: never limited here.
        assert (await take(None)).status_code == 201
        # The kiosk page says so too, beside the contact field.
        page = await http.post(
            "/kiosk",
            data={
                "center": center,
                "line_code": "justice",
                "contact_kind": "phone",
                "contact_value": "0987000004",
                "consent": "yes",
            },
            headers={"X-Forwarded-For": "192.0.2.10"},
        )
        assert page.status_code == 429
        assert "Too many tickets with a contact" in page.text or "quá nhiều" in page.text
