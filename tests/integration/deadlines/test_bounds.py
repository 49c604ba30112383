"""What the working calendar cannot count is refused clearly, never computed for long:
a receipt beyond the years whose holidays are known is dead-lettered and the partition
flows on; a request naming such a day is a 422 naming the field; a worklist page is
bounded."""

from __future__ import annotations

import httpx

from motcua.devtools.bus import read_all
from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.support.clock import vn
from tests.support.waiting import eventually

CENTER = "bounds"


def field_of(r: httpx.Response) -> str:
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid request"
    detail = r.json()["details"][0]
    assert detail["error"]
    return str(detail["field"])


async def clock_count(service: Service, dossier: Dossier) -> int:
    return await service.count(
        "SELECT count(*) FROM clocks WHERE dossier_id = $1", dossier.dossier_id
    )


async def test_a_receipt_the_calendar_cannot_count_is_dead_lettered(service: Service) -> None:
    beyond = Dossier(center_id=CENTER)  # 5 working days from 30 Dec 2100 end in 2101
    long_ago = Dossier(center_id=CENTER)
    after = Dossier(center_id=CENTER)
    await service.produce(
        beyond.received(vn(2100, 12, 30, 9), amount=5),
        long_ago.received(vn(1900, 6, 1, 9)),
        after.received(vn(2026, 3, 2, 9)),
    )
    await eventually(lambda: clock_count(service, after), what="the next receipt applied")
    kafka = service.settings.kafka
    dlq = kafka.topic_prefix + "dossier.events.dlq"
    dead = await eventually(
        lambda: read_all(kafka.bootstrap_servers, dlq),
        until=lambda msgs: len(msgs) >= 2,
        what="both receipts dead-lettered",
    )
    assert len(dead) == 2
    assert all("outside the years 1901-2100" in m.headers["x-error"] for m in dead), dead
    assert await clock_count(service, beyond) == await clock_count(service, long_ago) == 0


async def test_a_day_the_calendar_does_not_cover_is_a_422_naming_the_field(
    service: Service,
) -> None:
    dossier = Dossier(center_id=CENTER)
    await service.produce(dossier.received(vn(2026, 3, 2, 9)))
    await eventually(lambda: clock_count(service, dossier), what="the receipt applied")
    leader = service.token(CENTER)
    stats = "/v1/statistics/on-time"
    period = {"center": CENTER, "from": "2026-03-01", "to": "2026-03-31"}
    async with service.client() as http:
        r = await http.get(stats, params=period | {"from": "2150-01-01"}, headers=leader)
        assert field_of(r) == "from"
        r = await http.get(stats, params=period | {"to": "9999-12-31"}, headers=leader)
        assert field_of(r) == "to"
        for as_of in ("0001-01-01T00:00:00+07:00", "2101-01-01T00:00:00+07:00"):
            r = await http.get(stats, params=period | {"as_of": as_of}, headers=leader)
            assert field_of(r) == "as_of"
        r = await http.get(
            stats, params=period | {"as_of": "2100-12-31T09:00:00+07:00"}, headers=leader
        )
        assert r.status_code == 200, r.text

        for params in ({"to": "9999-12-31"}, {"as_of": "2200-01-01"}, {"from": "0001-01-01"}):
            page = await http.get("/dashboard", params=params, headers=leader)
            assert page.status_code == 422, (params, page.status_code)
            assert page.headers["content-type"].startswith("text/html")

        extension = {"amount": 1, "unit": "working_days", "reason": "x"}
        url = f"/v1/dossiers/{dossier.dossier_id}/extensions"
        r = await http.post(
            url, json=extension | {"granted_at": "2200-01-01T00:00:00Z"}, headers=leader
        )
        assert field_of(r) == "granted_at"
        clock = (await http.get(f"/v1/dossiers/{dossier.dossier_id}/clock", headers=leader)).json()
        assert clock["extensions"] == []


async def test_a_worklist_page_is_bounded(service: Service) -> None:
    leader = service.token(CENTER)
    url = f"/v1/centers/{CENTER}/worklist"
    async with service.client() as http:
        assert (
            field_of(await http.get(url, params={"limit": 1001}, headers=leader)) == "query.limit"
        )
        assert field_of(await http.get(url, params={"limit": 0}, headers=leader)) == "query.limit"
        page = await http.get(url, params={"limit": 1000}, headers=leader)
        assert page.status_code == 200, page.text
        assert len(page.json()) <= 1000
