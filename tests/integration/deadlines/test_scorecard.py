"""The 766 scorecard through the API, on four dossiers the running service consumed from
the broker: their receipts (one online), supplements, resolutions, attached files and a
rating; then the bad inputs and who may read what."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from motcua.services.deadlines import cli
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    DossierDocumentAttached,
    FeedbackReceived,
    TicketCalled,
    TicketCancelled,
    TicketIssued,
    TicketRecalled,
)
from motcua.shared.events.topics import NOTIFICATIONS, QUEUE
from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.integration.deadlines.test_satisfaction import applied, publish
from tests.support.clock import vn

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def online(received: Envelope[Any]) -> Envelope[Any]:
    data = received.data.model_copy(update={"channel": "online"})
    return new_event(
        data, center_id=received.center_id, producer="intake", occurred_at=data.received_at
    )


def attached(d: Dossier, kind: str, **flags: bool) -> Envelope[Any]:
    payload = DossierDocumentAttached(
        dossier_id=d.dossier_id,
        dossier_code=d.code,
        kind=kind,  # type: ignore[arg-type]
        component=0 if kind == "result" else 1,
        sha256="a" * 64,
        size=10,
        media_type="application/pdf",
        **flags,
    )
    return new_event(payload, center_id=d.center_id, producer="intake")


async def test_the_scorecard_of_a_center_and_of_the_province(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    center = f"sc-{uuid.uuid4().hex[:6]}"
    mon = vn(2026, 3, 2, 9)  # 3 working days: due Thursday 5 March, 9:00
    d1, d2, d3, d4 = (Dossier(center_id=center, procedure_code="HT-KS") for _ in range(4))
    events = [
        online(d1.received(mon)),
        d1.resolved(vn(2026, 3, 3, 9)),  # 1 day, early
        d2.received(mon),
        d2.supplement_requested(vn(2026, 3, 3, 9)),
        d2.supplement_provided(vn(2026, 3, 3, 10)),
        d2.supplement_requested(vn(2026, 3, 4, 9)),  # asked twice: late by the rule
        d2.supplement_provided(vn(2026, 3, 4, 10)),
        d2.resolved(vn(2026, 3, 5, 9)),  # 3 days
        d3.received(mon),
        d3.resolved(vn(2026, 3, 9, 9)),  # 7 days, late
        # A file attached before the receipt (as to an online submission) still counts.
        attached(d4, "component", reused=True),
        d4.received(mon),  # open; the service's clock (2 March, 8:00) is before its due
        attached(d1, "component"),  # online, so a digitised component
        attached(d1, "result"),
    ]
    await service.produce(*events)
    dislike = new_event(
        FeedbackReceived(dossier_id=d3.dossier_id, rating=1, on_date=date(2026, 3, 10)),
        center_id=center,
        producer="notify",
    )
    await publish(service, NOTIFICATIONS.topic(service.settings.kafka.topic_prefix), dislike)
    await applied(service, *events, dislike)
    await service.db.execute(
        """INSERT INTO apology_letters (letter_id, dossier_id, center_id, dossier_code,
               procedure_code, received_at, due_at, new_appointment_at)
           VALUES ($1, $2, $3, $4, 'HT-KS', $5, $6, $7)""",
        uuid.uuid4(), d3.dossier_id, center, d3.code, mon, vn(2026, 3, 5, 9), vn(2026, 3, 9, 9),
    )  # fmt: skip

    async with service.client() as http:
        r = await http.get(
            "/v1/reports/score766",
            params={**MARCH, "center_id": center},
            headers=service.token(center, "clerk"),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        rates = {i["id"]: i["rate"] for i in body["indicators"]}
        assert rates["2.1"] == 0.5  # d1 and d4 (open, before its due): 2 of 4
        assert abs(rates["2.2"] - 11 / 3) < 1e-9  # (1 + 3 + 7 days) / 3 resolved
        assert rates["2.x"] == 1.0  # d3, the one overdue, has its letter
        assert rates["3.3"] == 0.25  # d1 of 4
        assert abs(rates["4.1"] - 1 / 3) < 1e-9  # d1's result, of 3 resolved
        assert rates["4.2"] == 0.25
        assert rates["4.3"] == 0.25
        assert rates["5.4"] == 0.5  # 1 − 1 late / 4 − 1 disliked / 4
        assert body["points"] == 3.33
        assert body["points_possible"] == 6
        assert body["counts"]["repeated_supplement"] == 1
        assert body["handling_by_procedure"][0]["procedure_code"] == "HT-KS"

        province = await http.get(
            "/v1/reports/score766",
            params={**MARCH, "province": "1"},
            headers=service.token("tinh", "province"),
        )
        assert province.status_code == 200, province.text
        rows = {c["center_id"]: c for c in province.json()["centers"]}
        assert rows[center]["on_time_rate"] == 0.5
        assert rows[center]["overdue"] == 1
        assert province.json()["scope"] == "province"

        csv = await http.get(
            "/v1/reports/score766",
            params={**MARCH, "center_id": center, "format": "csv"},
            headers=service.token(center),
        )
        assert csv.status_code == 200
        assert csv.text.startswith("scope,id,indicator")

    # The same figures from the command line, read from the database.
    url = service.settings.db.url
    argv = ["score766", "--center", center, "--from", "2026-03-01", "--to", "2026-03-31"]
    assert await asyncio.to_thread(cli.main, [*argv, "--database-url", url]) == 0
    table = capsys.readouterr().out
    assert "50.00%" in table  # 2.1
    assert "3.33 of the 6 points motcua can compute" in table


async def test_bad_scorecard_requests_are_refused_by_name(service: Service) -> None:
    center = f"sc-{uuid.uuid4().hex[:6]}"
    receipt = Dossier(center_id=center).received(vn(2026, 3, 2, 9))
    await service.produce(receipt)
    await applied(service, receipt)
    async with service.client() as http:

        async def get(params: dict[str, str], token: dict[str, str]) -> Any:
            return await http.get("/v1/reports/score766", params=params, headers=token)

        own = service.token(center)
        clerk_of_all = await get({**MARCH, "province": "1"}, service.token(center, "clerk"))
        assert clerk_of_all.status_code == 403
        other = await get({**MARCH, "center_id": "elsewhere"}, own)
        assert other.status_code == 403
        unknown = await get({**MARCH, "center_id": "no-such"}, service.token("tinh", "province"))
        assert unknown.status_code == 404
        assert "no-such" in unknown.text
        reversed_ = await get({"from": "2026-03-31", "to": "2026-03-01", "center_id": center}, own)
        assert reversed_.status_code == 422
        assert "to" in reversed_.text
        too_long = await get({"from": "2025-01-01", "to": "2026-03-01", "center_id": center}, own)
        assert too_long.status_code == 422
        assert "366" in too_long.text
        garbled = await get({**MARCH, "center_id": "a\x00b"}, service.token("tinh", "province"))
        assert garbled.status_code == 422
        assert "center_id" in garbled.text
        neither = await get(MARCH, own)

        assert neither.status_code == 422
        assert "center_id" in neither.text

        before = await get({"from": "2026-01-01", "to": "2026-01-31", "center_id": center}, own)
        assert before.status_code == 200, before.text
        body = before.json()
        assert body["note"] == "no dossiers in the period"
        assert body["counts"]["received"] == 0


async def test_the_province_compares_its_centers_and_a_clerk_may_not(service: Service) -> None:
    center = f"sc-{uuid.uuid4().hex[:6]}"
    d = Dossier(center_id=center)
    events = [d.received(vn(2026, 3, 2, 9)), d.resolved(vn(2026, 3, 3, 9))]
    await service.produce(*events)
    await applied(service, *events)
    province = service.token("tinh", "province")
    async with service.client() as http:
        clerk = await http.get(
            "/dashboard/province", params=MARCH, headers=service.token(center, "clerk")
        )
        assert clerk.status_code == 403
        assert 'data-testid="province-only"' in clerk.text

        page = await http.get("/dashboard/province", params=MARCH, headers=province)
        assert page.status_code == 200, page.text
        assert 'lang="vi"' in page.text
        assert f'data-testid="row-center" data-key="{center}"' in page.text
        # No ticket of the center in the period: its waits are "—", said, not invented.
        assert 'data-testid="cell-mean-wait" data-value="" title="' in page.text
        drill = f"/dashboard?center={center}&amp;from=2026-03-01&amp;to=2026-03-31"
        assert drill in page.text

        english = await http.get(
            "/dashboard/province",
            params={**MARCH, "lang": "en", "sort": "overdue", "order": "asc"},
            headers=province,
        )
        assert english.status_code == 200
        assert "centers compared" in english.text
        assert 'aria-sort="ascending"' in english.text
        bad_sort = await http.get(
            "/dashboard/province", params={**MARCH, "sort": "x"}, headers=province
        )
        assert bad_sort.status_code == 422

        # The drill-down: the center's dashboard, read by the province, with its scorecard.
        dashboard = await http.get(
            "/dashboard", params={**MARCH, "center": center}, headers=province
        )
        assert dashboard.status_code == 200, dashboard.text
        assert 'data-testid="score766"' in dashboard.text
        assert 'data-key="2.1"' in dashboard.text


async def test_the_province_compares_waiting_times_from_the_queue_events(
    service: Service,
) -> None:
    served, idle = f"wq-{uuid.uuid4().hex[:6]}", f"wq-{uuid.uuid4().hex[:6]}"
    receipts = [Dossier(center_id=c).received(vn(2026, 3, 2, 9)) for c in (served, idle)]
    await service.produce(*receipts)

    def ticket(number: str) -> dict[str, Any]:
        return {
            "ticket_id": uuid.uuid4(),
            "number": number,
            "line_code": "ht",
            "lookup_code": number,
        }

    def queue(payload: Any, h: int, mi: int) -> Envelope[Any]:
        return new_event(
            payload, center_id=served, producer="queue", occurred_at=vn(2026, 3, 2, h, mi)
        )

    def issued(t: dict[str, Any], mi: int) -> Envelope[Any]:
        return queue(TicketIssued(**t, issued_at=vn(2026, 3, 2, 8, mi)), 8, mi)

    a, b, c, gone = ticket("A001"), ticket("A002"), ticket("A003"), ticket("A004")
    # B's call is read before its issue, alone, so the stored row waits for the issue.
    early = queue(TicketCalled(**b, counter_id="1"), 8, 25)
    await publish(service, QUEUE.topic(service.settings.kafka.topic_prefix), early)
    await applied(service, early, *receipts)
    events = [
        issued(a, 0),
        queue(TicketCalled(**a, counter_id="1"), 8, 10),  # waited 10 minutes
        issued(b, 5),  # 20 minutes
        issued(c, 0),
        queue(TicketCalled(**c, counter_id="2"), 8, 30),  # 30 minutes
        queue(TicketRecalled(**c, counter_id="2", call_count=2), 8, 45),  # not a new wait
        issued(gone, 0),
        queue(TicketCancelled(**gone), 8, 20),  # never called: abandoned
    ]
    # Two redeliveries before the last event, so that its arrival means they were read.
    again = [*events[:-1], events[1], early, events[-1]]
    await publish(service, QUEUE.topic(service.settings.kafka.topic_prefix), *again)
    await applied(service, *events)

    province = service.token("tinh", "province")
    async with service.client() as http:
        page = await http.get(
            "/dashboard/province",
            params={**MARCH, "lang": "en", "sort": "mean_wait", "order": "asc"},
            headers=province,
        )
        report = await http.get(
            "/v1/reports/score766", params={**MARCH, "province": "1"}, headers=province
        )
    assert report.status_code == 200, report.text
    rows = {c["center_id"]: c for c in report.json()["centers"]}
    assert rows[served]["waits"] == {
        "tickets_called": 3,
        "tickets_abandoned": 1,
        "mean_seconds": 1200.0,
        "p90_seconds": 1680.0,
    }
    assert rows[idle]["waits"]["tickets_called"] == 0
    assert rows[idle]["waits"]["mean_seconds"] is None
    assert page.status_code == 200, page.text
    assert 'aria-sort="ascending"' in page.text

    def row(center: str) -> str:
        return page.text.split(f'data-key="{center}"', 1)[1].split("</tr>", 1)[0]

    # Waits of 10, 20 and 30 minutes: mean 20, interpolated 90th percentile 28.
    assert 'data-testid="cell-mean-wait" data-value="1200.0">20.0 min' in row(served)
    assert "(3 tickets called, 1 abandoned)" in row(served)
    assert 'data-testid="cell-p90-wait" data-value="1680.0">28.0 min' in row(served)
    no_tickets = 'title="The center issued no ticket in the period: there is no wait to count">—'
    assert f'data-testid="cell-mean-wait" data-value="" {no_tickets}' in row(idle)
    assert f'data-testid="cell-p90-wait" data-value="" {no_tickets}' in row(idle)
    # Sorted by mean wait, a center without one comes after those with one.
    assert page.text.index(f'data-key="{served}"') < page.text.index(f'data-key="{idle}"')
