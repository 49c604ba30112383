"""Citizens' ratings reach the reports: ``feedback.received`` from notify's topic, applied
by the running deadlines service, counted per center, per procedure and per month, and
shown on the leaders' dashboard beside the on-time rate."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date
from typing import Any

from motcua.devtools.bus import produce, read_all
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import FeedbackReceived
from motcua.shared.events.topics import DOSSIERS, NOTIFICATIONS
from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.support.clock import vn
from tests.support.waiting import eventually

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def rating(d: Dossier, score: int, on: date) -> Envelope[Any]:
    payload = FeedbackReceived(dossier_id=d.dossier_id, rating=score, on_date=on)
    return new_event(payload, center_id=d.center_id, producer="notify")


async def publish(service: Service, topic: str, *events: Envelope[Any]) -> None:
    kafka = service.settings.kafka
    for e in events:
        await produce(kafka.bootstrap_servers, topic, [e.to_bytes()], key=e.center_id.encode())


async def applied(service: Service, *events: Envelope[Any]) -> None:
    ids = [e.event_id for e in events]
    await eventually(
        lambda: service.count("SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", ids),
        until=lambda n: n == len(ids),
        what="the events applied",
    )


async def test_ratings_are_counted_per_center_procedure_and_month(service: Service) -> None:
    center = f"sat-{uuid.uuid4().hex[:6]}"
    monday = vn(2026, 3, 2, 9)
    births = [Dossier(center_id=center, procedure_code="HT-KS") for _ in range(3)]
    copy = Dossier(center_id=center, procedure_code="CT-BANSAO")
    unknown = Dossier(center_id=center)  # rated, its receipt never consumed
    await service.produce(*(d.received(monday) for d in [*births, copy]))
    given = [
        rating(births[0], 5, date(2026, 3, 3)),
        rating(births[1], 4, date(2026, 3, 4)),
        rating(births[2], 2, date(2026, 3, 4)),
        rating(copy, 3, date(2026, 4, 1)),
        rating(unknown, 1, date(2026, 3, 5)),
    ]
    again = rating(births[0], 1, date(2026, 3, 6))  # a second rating of one dossier
    await publish(service, NOTIFICATIONS.topic(service.settings.kafka.topic_prefix), *given, again)
    await applied(service, *given, again)

    async with service.client() as http:
        r = await http.get(
            "/v1/statistics/satisfaction",
            params={**MARCH, "center": center},
            headers=service.token(center),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == {
            "ratings": 4,
            "average": 3.0,
            "satisfied": 2,
            "satisfied_rate": 0.5,
            "by_score": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 1},
        }
        by_procedure = {p["procedure_code"]: p["ratings"] for p in body["by_procedure"]}
        assert by_procedure == {"HT-KS": 3, None: 1}
        assert [(m["month"], m["ratings"]) for m in body["by_month"]] == [("2026-03", 4)]
        assert [c["center_id"] for c in body["by_center"]] == [center]

        spring = await http.get(
            "/v1/statistics/satisfaction",
            params={"from": "2026-03-01", "to": "2026-04-30", "center": center, "format": "csv"},
            headers=service.token(center),
        )
        assert spring.status_code == 200
        rows = {(r["group"], r["key"]): r for r in csv.DictReader(io.StringIO(spring.text))}
        assert rows[("total", "")]["ratings"] == "5"
        assert rows[("month", "2026-04")]["score_3"] == "1"
        assert rows[("procedure", "CT-BANSAO")]["average"] == "3.00"

        other = await http.get(
            "/v1/statistics/satisfaction",
            params={**MARCH, "center": center},
            headers=service.token("another-center"),
        )
        assert other.status_code == 403
        backwards = await http.get(
            "/v1/statistics/satisfaction",
            params={"from": "2026-03-31", "to": "2026-03-01", "center": center},
            headers=service.token(center),
        )
        assert backwards.status_code == 422
        assert "to" in backwards.text

        page = await http.get(
            "/dashboard", params={**MARCH, "center": center}, headers=service.token(center)
        )
        assert page.status_code == 200, page.text
        kpi = re.search(r'data-testid="kpi-satisfaction" data-value="([^"]*)">([^<]*)<', page.text)
        assert kpi is not None
        assert kpi.groups() == ("3.00", "3,0/5")
        assert re.search(r'data-testid="kpi-satisfied-rate">50,0%<', page.text)


async def test_a_rating_on_another_topic_than_notifys_is_not_believed(service: Service) -> None:
    center = f"sat-{uuid.uuid4().hex[:6]}"
    d = Dossier(center_id=center)
    forged = rating(d, 1, date(2026, 3, 3))
    kafka = service.settings.kafka
    await publish(service, DOSSIERS.topic(kafka.topic_prefix), forged)

    async def dead_letters() -> list[Any]:
        dlq = await read_all(kafka.bootstrap_servers, DOSSIERS.dlq(kafka.topic_prefix))
        return [m for m in dlq if str(forged.event_id).encode() in m.value]

    await eventually(dead_letters, what="the forged rating dead-lettered")
    assert await service.count("SELECT count(*) FROM ratings WHERE center_id = $1", center) == 0
