"""Repeated supplement requests on the running service: each request counted once per
dossier (a redelivered event is no second request), the second flags the dossier, and
the report and the dashboard count the flagged dossiers."""

from __future__ import annotations

import re
import uuid

from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.support.clock import vn
from tests.support.waiting import eventually

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


async def test_a_second_request_flags_the_dossier_and_is_counted(service: Service) -> None:
    center = f"sup-{uuid.uuid4().hex[:6]}"
    once, twice, thrice, never = (Dossier(center_id=center) for _ in range(4))
    never.procedure_code = "CT-BANSAO"
    monday = vn(2026, 3, 2, 8)
    events = [d.received(monday) for d in (once, twice, thrice, never)]
    events.append(once.supplement_requested(vn(2026, 3, 2, 9)))
    for d in (twice, thrice):
        events += [
            d.supplement_requested(vn(2026, 3, 2, 9)),
            d.supplement_provided(vn(2026, 3, 2, 10)),
            d.supplement_requested(vn(2026, 3, 2, 11)),
        ]
    third = thrice.supplement_requested(vn(2026, 3, 2, 15))
    events += [thrice.supplement_provided(vn(2026, 3, 2, 14)), third, third]  # redelivered
    await service.produce(*events)
    await eventually(
        lambda: service.count(
            "SELECT count(*) FROM clock_facts WHERE dossier_id = ANY($1::uuid[])",
            [d.dossier_id for d in (once, twice, thrice)],
        ),
        until=lambda n: n == 1 + 3 + 5,
        what="every request and provision recorded",
    )
    service.clock.set(vn(2026, 3, 3, 8))  # the reports' instant: after every request
    leader = service.token(center)
    async with service.client() as http:
        clock = (await http.get(f"/v1/dossiers/{thrice.dossier_id}/clock", headers=leader)).json()
        assert (clock["supplement_requests"], clock["supplement_repeated"]) == (3, True)
        clock = (await http.get(f"/v1/dossiers/{once.dossier_id}/clock", headers=leader)).json()
        assert (clock["supplement_requests"], clock["supplement_repeated"]) == (1, False)

        r = await http.get(
            "/v1/statistics/supplements", params={**MARCH, "center": center}, headers=leader
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == {
            "received": 4,
            "with_supplement": 3,
            "repeated": 2,
            "repeated_rate": 0.5,
            "requests": 6,
        }
        assert body["rule"]["flagged_from_request"] == 2
        assert {f["dossier_code"]: f["requests"] for f in body["flagged"]} == {
            twice.code: 2,
            thrice.code: 3,
        }
        by_procedure = {p["procedure_code"]: p["repeated"] for p in body["by_procedure"]}
        assert by_procedure == {"HT-KS": 2, "CT-BANSAO": 0}

        # As of Monday 10:00, only the first requests had been made.
        early = await http.get(
            "/v1/statistics/supplements",
            params={**MARCH, "center": center, "as_of": "2026-03-02T10:00:00+07:00"},
            headers=leader,
        )
        assert early.json()["total"]["repeated"] == 0
        other = await http.get(
            "/v1/statistics/supplements",
            params={**MARCH, "center": center},
            headers=service.token("another-center"),
        )
        assert other.status_code == 403

        page = await http.get("/dashboard", params={**MARCH, "center": center}, headers=leader)
        assert page.status_code == 200
        kpi = re.search(r'data-testid="kpi-repeated-supplements" data-value="(\d+)"', page.text)
        assert kpi is not None
        assert kpi.group(1) == "2"
