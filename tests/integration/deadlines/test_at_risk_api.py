"""The breach forecast's ranked list on the running service: the JSON API (the center's
leaders only) and the dashboard's section, from events applied by the real consumer."""

from __future__ import annotations

from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.integration.deadlines.test_at_risk import HISTORY, history, late_history_events
from tests.support.clock import vn
from tests.support.waiting import eventually

CENTER = "bang-xep"


async def test_the_ranked_list_for_the_leader_and_no_one_else(service: Service) -> None:
    await service.produce(*late_history_events(history(CENTER)))
    first, second = Dossier(center_id=CENTER), Dossier(center_id=CENTER)
    await service.produce(
        first.received(vn(2026, 3, 9, 9)),
        first.assigned(vn(2026, 3, 9, 10), "can-bo-a"),
        second.received(vn(2026, 3, 10, 8)),
    )
    await eventually(
        lambda: service.count(
            "SELECT count(*) FROM forecast_durations WHERE center_id = $1", CENTER
        ),
        until=lambda n: n == HISTORY,
        what="the history learnt",
    )
    await eventually(
        lambda: service.count(
            "SELECT count(*) FROM clocks WHERE center_id = $1 AND assignee IS NOT NULL", CENTER
        ),
        until=lambda n: n == 1,
        what="the open dossiers",
    )
    service.clock.set(vn(2026, 3, 10, 9))
    path = f"/v1/centers/{CENTER}/at-risk"
    async with service.client() as http:
        assert (await http.get(path)).status_code == 401
        clerk = await http.get(path, headers=service.token(CENTER, role="clerk"))
        assert clerk.status_code == 403
        assert "leader" in clerk.json()["error"]
        other = await http.get(path, headers=service.token("elsewhere"))
        assert other.status_code == 403
        bad = await http.get(path, params={"limit": 0}, headers=service.token(CENTER))
        assert bad.status_code == 422
        assert "limit" in bad.text

        listed = (await http.get(path, headers=service.token(CENTER))).json()
        assert [x["dossier_code"] for x in listed] == [first.code, second.code]
        top = listed[0]
        assert top["probability"] == round(10.5 / 11, 4)
        assert top["reason"] == "time"
        assert top["working_seconds_left"] == 21 * 3600
        assert top["assignee"] == "can-bo-a"
        assert top["samples"] == HISTORY
        # One open dossier for one assignee: a backlog of one in front of it.
        assert top["backlog"] == 1.0

        # A center nobody has filed at yet: an empty list, not an error.
        empty = await http.get("/v1/centers/moi-lap/at-risk", headers=service.token("moi-lap"))
        assert (empty.status_code, empty.json()) == (200, [])

        page = await http.get(
            "/dashboard", params={"center": CENTER}, headers=service.token(CENTER)
        )
        assert page.status_code == 200
        assert page.text.count('data-testid="at-risk-row"') == 2
        assert page.text.index(first.code) < page.text.index(second.code)
        assert 'data-probability="0.9545"' in page.text
        # A clerk sees the dashboard without the forecast's ranking of the officers' work.
        clerk_page = await http.get(
            "/dashboard", params={"center": CENTER}, headers=service.token(CENTER, "clerk")
        )
        assert clerk_page.status_code == 200
        assert 'data-testid="at-risk"' not in clerk_page.text
