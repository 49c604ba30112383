"""The deadlines service running for real: dossier events in from the broker, flags out
through the outbox to the broker, exactly once each; and its HTTP API. The scheduler's
clock is moved by the test instead of waiting for days."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.support.clock import vn
from tests.support.waiting import eventually


async def flags_on_bus(service: Service, dossiers: list[Dossier]) -> list[dict[str, Any]]:
    ids = {str(d.dossier_id) for d in dossiers}
    events = [json.loads(m.value) for m in await service.deadline_messages()]
    return [e for e in events if e["data"]["dossier_id"] in ids]


def kind(event: dict[str, Any]) -> str:
    k = str(event["event_type"]).removeprefix("deadline.")
    return f"{k}:{event['data']['threshold']}" if k == "approaching" else k


async def move_to(service: Service, t: datetime, *, expected_flags: int) -> None:
    """Move the scheduler's clock and wait until the flags table holds ``expected_flags``."""
    service.clock.set(t)
    await eventually(
        lambda: service.count("SELECT count(*) FROM flags"),
        until=lambda n: n == expected_flags,
        what=f"{expected_flags} flags recorded",
    )


async def test_every_flag_is_emitted_exactly_once(service: Service) -> None:
    await move_to(service, vn(2026, 3, 2, 8), expected_flags=0)
    monday = vn(2026, 3, 2, 9)  # 3 working days: due Thursday 5 March 17:00
    a, b, c, d, e = (Dossier(center_id="bus") for _ in range(5))
    duplicate = e.received(monday)
    await service.produce(*(x.received(monday) for x in (a, b, c, d)), duplicate, duplicate)
    await move_to(service, vn(2026, 3, 2, 12), expected_flags=5)  # five deadline.set

    await service.produce(c.supplement_requested(vn(2026, 3, 3, 10)))
    await eventually(
        lambda: service.count("SELECT count(*) FROM clocks WHERE paused_since IS NOT NULL"),
        what="c paused",
    )
    service.clock.set(vn(2026, 3, 4, 12))
    await service.produce(c.supplement_provided(vn(2026, 3, 4, 10)), b.resolved(vn(2026, 3, 4, 10)))
    await move_to(service, vn(2026, 3, 4, 12), expected_flags=7)  # c updated, b closed
    # Thursday noon: "1 day left" (07:30) and "80% used" (09:18) for a, d and e.
    await move_to(service, vn(2026, 3, 5, 12), expected_flags=13)
    # Friday noon: a, d, e overdue since Thursday 17:00; c (due Friday 17:00) warned.
    await move_to(service, vn(2026, 3, 6, 12), expected_flags=18)
    # d's resolution happened Thursday 16:00 but arrives only now: closed, on time.
    await service.produce(d.resolved(vn(2026, 3, 5, 16)))
    await move_to(service, vn(2026, 3, 9, 9), expected_flags=20)  # + d closed, c overdue

    dossiers = [a, b, c, d, e]
    events = await eventually(
        lambda: flags_on_bus(service, dossiers),
        until=lambda evs: len(evs) >= 20,
        what="20 flags on the bus",
    )
    assert len(events) == 20  # nothing doubled on the wire either
    assert len({ev["event_id"] for ev in events}) == 20
    by_dossier = {
        x.dossier_id: Counter(
            kind(ev) for ev in events if ev["data"]["dossier_id"] == str(x.dossier_id)
        )
        for x in dossiers
    }
    warned = {"set": 1, "approaching:1d": 1, "approaching:80%": 1, "overdue": 1}
    assert by_dossier[a.dossier_id] == warned
    assert by_dossier[e.dossier_id] == warned  # the duplicate receipt had no effect
    assert by_dossier[b.dossier_id] == {"set": 1, "closed": 1}
    assert by_dossier[c.dossier_id] == {**warned, "updated": 1}
    assert by_dossier[d.dossier_id] == {**warned, "closed": 1}

    closed = {ev["data"]["dossier_id"]: ev["data"] for ev in events if kind(ev) == "closed"}
    assert closed[str(b.dossier_id)]["outcome"] == "early"
    assert closed[str(d.dossier_id)]["outcome"] == "on_time"  # judged on business time
    overdue_c = next(
        ev
        for ev in events
        if kind(ev) == "overdue" and ev["data"]["dossier_id"] == str(c.dossier_id)
    )
    assert overdue_c["data"]["due_at"] == "2026-03-06T10:00:00Z"  # Friday 17:00 after the pause
    assert overdue_c["data"]["new_appointment_at"] == "2026-03-10T10:00:00Z"
    keys = {m.key for m in await service.deadline_messages()}
    assert {str(x.dossier_id).encode() for x in dossiers} <= keys  # keyed by dossier

    # A restart-like redelivery of the whole history changes nothing.
    await service.produce(c.supplement_requested(vn(2026, 3, 3, 10)), duplicate)
    marker = Dossier(center_id="bus")  # resolved at once: it leaves nothing scheduled
    await service.produce(
        marker.received(vn(2026, 3, 9, 8)), marker.resolved(vn(2026, 3, 9, 8, 30))
    )
    await eventually(
        lambda: service.count("SELECT count(*) FROM flags"),
        until=lambda n: n >= 22,
        what="the marker's deadline.set and deadline.closed",
    )
    assert await service.count("SELECT count(*) FROM flags") == 22


async def test_api_worklist_clock_extension_letter_statistics_calendar(service: Service) -> None:
    center = "api-center"
    await move_to(
        service, vn(2026, 4, 6, 8), expected_flags=await service.count("SELECT count(*) FROM flags")
    )
    monday = vn(2026, 4, 6, 9)
    x, y, z = (Dossier(center_id=center, procedure_code=p) for p in ("HT-KS", "CT-BS", "HT-KS"))
    before = await service.count("SELECT count(*) FROM flags")
    await service.produce(
        x.received(monday),  # due Thursday 9 April 17:00
        y.received(monday, amount=0),  # due Monday 17:00
        z.received(monday, amount=2),  # due Wednesday 8 April 17:00
        z.assigned(vn(2026, 4, 6, 9, 30), "officer-3", "văn hoá - xã hội"),
    )
    # Monday 18:00: y is overdue (and its 80% warning went out at 15:36).
    await move_to(service, vn(2026, 4, 6, 18), expected_flags=before + 5)
    leader = service.token(center)
    async with service.client() as http:
        assert (await http.get(f"/v1/centers/{center}/worklist")).status_code == 401
        other = service.token("another-center")
        assert (await http.get(f"/v1/centers/{center}/worklist", headers=other)).status_code == 403

        work = (await http.get(f"/v1/centers/{center}/worklist", headers=leader)).json()
        assert [w["dossier_code"] for w in work] == [y.code, z.code, x.code]
        assert [w["overdue"] for w in work] == [True, False, False]
        assert work[1]["assignee"] == "officer-3"
        assert work[1]["step"] == "Đang xử lý (processing)"
        assert work[1]["working_seconds_left"] == 2 * 27_000  # Tue and Wed

        letter = await http.get(f"/v1/dossiers/{y.dossier_id}/apology-letter", headers=leader)
        assert letter.status_code == 200
        assert letter.json()["new_appointment_at"] == "2026-04-08T10:00:00Z"  # Wed 17:00
        text = await http.get(
            f"/v1/dossiers/{y.dossier_id}/apology-letter", headers=leader, params={"format": "text"}
        )
        assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text.text
        assert "17 giờ 00 phút, ngày 08 tháng 04 năm 2026" in text.text
        on_bus = await flags_on_bus(service, [y])
        overdue = next(ev for ev in on_bus if kind(ev) == "overdue")
        assert overdue["data"]["apology_letter_id"] == letter.json()["letter_id"]

        clerk = service.token(center, role="clerk")
        body = {"amount": 2, "unit": "working_days", "reason": "cần xác minh thêm"}
        url = f"/v1/dossiers/{x.dossier_id}/extensions"
        assert (await http.post(url, json=body, headers=clerk)).status_code == 403
        bad = await http.post(url, json=body | {"amount": 0}, headers=leader)
        assert bad.status_code == 422
        assert bad.json()["details"][0]["field"] == "amount"
        granted = await http.post(
            url, json=body | {"extension_id": str(x.dossier_id)}, headers=leader
        )
        assert granted.status_code == 201, granted.text
        assert granted.json()["due_at"] == "2026-04-13T10:00:00Z"  # Thu -> Fri, Mon 17:00
        assert granted.json()["extensions"][0]["reason"] == "cần xác minh thêm"
        again = await http.post(
            url, json=body | {"extension_id": str(x.dossier_id)}, headers=leader
        )
        assert again.json()["due_at"] == "2026-04-13T10:00:00Z"  # the same extension, once
        missing = await http.get(f"/v1/dossiers/{Dossier().dossier_id}/clock", headers=leader)
        assert missing.status_code == 404

        params = {"center": center, "from": "2026-04-01", "to": "2026-04-30"}
        stats = (await http.get("/v1/statistics/on-time", params=params, headers=leader)).json()
        assert stats["as_of"] == "2026-04-06T11:00:00+00:00"  # the service's now
        assert stats["total"]["received"] == 3
        assert stats["total"]["in_progress_overdue"] == 1
        assert stats["total"]["in_progress_within_deadline"] == 2
        csv = await http.get(
            "/v1/statistics/on-time", params=params | {"format": "csv"}, headers=leader
        )
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[1].startswith("total,all,3,0,0,0,0,0,0,3,2,1,")
        everyone = await http.get(
            "/v1/statistics/on-time", params=params | {"center": None}, headers=leader
        )
        assert everyone.status_code == 403  # all centers: the province only
        admin = service.token(center, role="admin")
        everyone = await http.get(
            "/v1/statistics/on-time",
            params={"from": "2026-03-01", "to": "2026-04-30"},
            headers=admin,
        )
        assert everyone.status_code == 403  # a center's admin is not the province's
        elsewhere = await http.get(
            "/v1/statistics/on-time", params=params | {"center": "another-ward"}, headers=admin
        )
        assert elsewhere.status_code == 403, elsewhere.text
        province = service.token(center, role="province")
        everyone = await http.get(
            "/v1/statistics/on-time",
            params={"from": "2026-03-01", "to": "2026-04-30"},
            headers=province,
        )
        assert everyone.json()["total"]["received"] >= 9

        # Wednesday 8 April becomes a day off for this center: z's due moves to Thursday.
        bad_calendar = await http.put(
            f"/v1/centers/{center}/calendar",
            json={"weekly_sessions": {"sat": [["11:00", "08:00"]]}},
            headers=leader,
        )
        assert bad_calendar.status_code == 422
        assert bad_calendar.json()["details"][0]["field"] == "weekly_sessions.sat[0]"
        put = await http.put(
            f"/v1/centers/{center}/calendar",
            json={"name": "UBND phường Nam Cường", "extra_days_off": ["2026-04-08"]},
            headers=leader,
        )
        assert put.json() == {"center_id": center, "version": 1, "clocks_recomputed": 3}
        clock = (await http.get(f"/v1/dossiers/{z.dossier_id}/clock", headers=leader)).json()
        assert clock["due_at"] == "2026-04-09T10:00:00Z"
        assert [f["kind"] for f in clock["flags"]][:2] == ["set", "updated"]
        got = (await http.get(f"/v1/centers/{center}/calendar", headers=leader)).json()
        assert got["overrides"] == {"extra_days_off": ["2026-04-08"]}

    updates = [ev for ev in await flags_on_bus(service, [x, z]) if kind(ev) == "updated"]
    assert sorted(ev["data"]["reason"] for ev in updates) == [
        "correction",
        "correction",
        "extension",
    ]


async def test_letters_name_the_configured_center_unless_a_name_is_stored(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    named, unnamed = "letter-named", "letter-unnamed"
    configured = "Trung tâm Phục vụ hành chính công xã Bắc Hà"
    # The running service reads the configured names on each request.
    monkeypatch.setitem(service.deadlines.settings.center_names, named, configured)
    a, b = Dossier(center_id=named), Dossier(center_id=unnamed)
    monday = vn(2026, 6, 1, 9)
    service.clock.set(vn(2026, 6, 1, 8))
    await service.produce(a.received(monday, amount=0), b.received(monday, amount=0))
    service.clock.set(vn(2026, 6, 1, 18))  # both due Monday 17:00: overdue, a letter each

    async with service.client() as http:

        async def letter(d: Dossier) -> httpx.Response:
            return await http.get(
                f"/v1/dossiers/{d.dossier_id}/apology-letter",
                headers=service.token(d.center_id),
                params={"format": "text"},
            )

        def ready(r: httpx.Response) -> bool:
            return r.status_code == 200

        text = (await eventually(lambda: letter(a), until=ready, what="a's letter")).text
        assert text.startswith(configured.upper())
        assert f"{configured} xin lỗi Ông/Bà" in text
        assert "Bộ phận Một cửa" not in text
        fallback = (await eventually(lambda: letter(b), until=ready, what="b's letter")).text
        assert f"Bộ phận Một cửa {unnamed} xin lỗi Ông/Bà" in fallback

        stored = "UBND xã Bắc Hà"
        put = await http.put(
            f"/v1/centers/{named}/calendar", json={"name": stored}, headers=service.token(named)
        )
        assert put.status_code == 200, put.text
        text = (await letter(a)).text
        assert f"{stored} xin lỗi Ông/Bà" in text
        assert configured not in text
