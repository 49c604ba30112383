"""The registry's admin API against a real database and broker: every change is one
revision, one audit row and one event; stale, missing and bad input are refused by name."""

from __future__ import annotations

from typing import Any

from motcua.services.registry.files import load_folder
from tests.integration.registry.conftest import Stack, center_document
from tests.support.waiting import eventually


async def events_for(stack: Stack, center_id: str, count: int) -> list[dict[str, Any]]:
    return await eventually(
        lambda: stack.published(center_id),
        until=lambda found: len(found) >= count,
        what=f"{count} center.configured for {center_id}",
    )


async def test_the_files_load_once_and_unchanged_files_publish_nothing(stack: Stack) -> None:
    async with stack.client("registry") as http:
        r = await http.get("/v1/centers", headers=stack.auth("nam-cuong", role="province"))
        assert r.status_code == 200, r.text
        (nam_cuong,) = [c for c in r.json() if c["center_id"] == "nam-cuong"]
        assert (nam_cuong["revision"], nam_cuong["code"]) == (1, "NC")
        audit = (
            await http.get("/v1/centers/nam-cuong/audit", headers=stack.auth("nam-cuong"))
        ).json()
    (entry,) = audit["entries"]
    assert (entry["actor"], entry["role"], entry["before"]) == ("file:nam-cuong.json", "file", None)
    # A restart reads the same files: nothing changes, nothing is published.
    outcomes = await stack.apps["registry"].state.registry.load_files(load_folder(stack.files))
    assert [(o.revision, o.changed) for o in outcomes] == [(1, False)]
    published = await events_for(stack, "nam-cuong", 1)
    assert [e["data"]["revision"] for e in published] == [1]


async def test_a_put_is_audited_and_published(stack: Stack) -> None:
    center = "api-put"
    admin = stack.auth(center, subject="admin-7")
    async with stack.client("registry") as http:
        r = await http.put(f"/v1/centers/{center}", json=center_document(center), headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"center_id": center, "revision": 1, "changed": True}
        assert r.headers["ETag"] == '"1"'
        renamed = center_document(center, name="Tên mới")
        r = await http.put(
            f"/v1/centers/{center}?reason=renamed",
            json=renamed,
            headers=admin | {"If-Match": '"1"'},
        )
        assert r.json()["revision"] == 2, r.text
        # The same document again changes nothing.
        r = await http.put(f"/v1/centers/{center}", json=renamed, headers=admin | {"If-Match": "2"})
        assert r.json() == {"center_id": center, "revision": 2, "changed": False}
        got = await http.get(f"/v1/centers/{center}", headers=stack.auth(center, role="clerk"))
        assert got.headers["ETag"] == '"2"'
        assert got.json()["document"]["name"] == "Tên mới"
        page = (await http.get(f"/v1/centers/{center}/audit?limit=1", headers=admin)).json()
        (newest,) = page["entries"]
        assert (newest["revision"], newest["actor"], newest["role"]) == (2, "admin-7", "admin")
        assert newest["reason"] == "renamed"
        assert (newest["before"]["name"], newest["after"]["name"]) == (
            f"Trung tâm {center}",
            "Tên mới",
        )
        older = await http.get(
            f"/v1/centers/{center}/audit?before={page['next_before']}", headers=admin
        )
        assert [e["revision"] for e in older.json()["entries"]] == [1]
    published = await events_for(stack, center, 2)
    assert [(e["event_type"], e["data"]["revision"]) for e in published] == [
        ("center.configured", 1),
        ("center.configured", 2),
    ]
    assert published[1]["data"]["name"] == "Tên mới"
    assert "admin-7" not in str(published)  # who changed it stays in the audit, off the bus


async def test_stale_missing_and_bad_input_are_refused_and_change_nothing(stack: Stack) -> None:
    center = "api-bad"
    admin = stack.auth(center)
    async with stack.client("registry") as http:
        assert (
            await http.put(f"/v1/centers/{center}", json=center_document(center), headers=admin)
        ).status_code == 200
        changed = center_document(center, name="Khác")
        stale = await http.put(
            f"/v1/centers/{center}", json=changed, headers=admin | {"If-Match": '"0"'}
        )
        assert stale.status_code == 409, stale.text
        assert stale.json()["current_revision"] == 1
        missing = await http.put(f"/v1/centers/{center}", json=changed, headers=admin)
        assert missing.status_code == 428
        assert missing.json()["field"] == "If-Match"
        unknown_line = center_document(center)
        unknown_line["counters"][1]["line_codes"] = ["justice", "lands"]
        r = await http.put(
            f"/v1/centers/{center}", json=unknown_line, headers=admin | {"If-Match": "1"}
        )
        assert r.status_code == 422
        assert r.json()["details"][0]["field"] == "counters[1].line_codes[1]"
        r = await http.put(
            f"/v1/centers/{center}",
            json=center_document(center, colour="red"),
            headers=admin | {"If-Match": "1"},
        )
        assert r.status_code == 422
        assert "colour" in r.text
        r = await http.put(
            f"/v1/centers/{center}",
            json=center_document(center, name="x" * 2_000_000),
            headers=admin | {"If-Match": "1"},
        )
        assert r.status_code == 413
        other = await http.put(
            f"/v1/centers/{center}",
            json=changed,
            headers=stack.auth("nam-cuong") | {"If-Match": "1"},
        )
        assert other.status_code == 403
        clerk = await http.put(
            f"/v1/centers/{center}", json=changed, headers=stack.auth(center, role="clerk")
        )
        assert clerk.status_code == 403
        got = await http.get(f"/v1/centers/{center}", headers=admin)
        assert got.json()["revision"] == 1
        audit = (await http.get(f"/v1/centers/{center}/audit", headers=admin)).json()
        assert len(audit["entries"]) == 1
        # An audit cursor past a bigint names no entry: a 422 naming it, not a failed query.
        beyond = await http.get(
            f"/v1/centers/{center}/audit", params={"before": 2**63}, headers=admin
        )
        assert beyond.status_code == 422, beyond.text
        assert "before" in beyond.text
        last = await http.get(
            f"/v1/centers/{center}/audit", params={"before": 2**63 - 1}, headers=admin
        )
        assert last.status_code == 200
        assert len(last.json()["entries"]) == 1


async def test_retiring_is_a_revision_too(stack: Stack) -> None:
    center = "api-retire"
    admin = stack.auth(center)
    async with stack.client("registry") as http:
        await http.put(f"/v1/centers/{center}", json=center_document(center), headers=admin)
        r = await http.post(
            f"/v1/centers/{center}/retire",
            json={"reason": "merged"},
            headers=admin | {"If-Match": "1"},
        )
        assert r.json() == {"center_id": center, "revision": 2, "changed": True}, r.text
        assert (await http.get(f"/v1/centers/{center}", headers=admin)).json()["document"][
            "active"
        ] is False
        page = await http.get("/centers?lang=en")
        assert page.status_code == 200
        assert center not in page.text
        assert "Nam Cuong" in page.text
    published = await events_for(stack, center, 2)
    assert published[-1]["data"]["active"] is False


async def test_the_provinces_it_team_configures_any_center(stack: Stack) -> None:
    center = "api-province"
    # A token of another center: the province's IT team is not one center's staff.
    it = stack.auth("nam-cuong", role="province_admin", subject="it-1")
    async with stack.client("registry") as http:
        r = await http.put(f"/v1/centers/{center}", json=center_document(center), headers=it)
        assert r.json() == {"center_id": center, "revision": 1, "changed": True}, r.text
        r = await http.put(
            f"/v1/centers/{center}",
            json=center_document(center, name="Trung tâm mới"),
            headers=it | {"If-Match": "1"},
        )
        assert r.json()["revision"] == 2, r.text
        # The province reads every center but changes none.
        province = await http.put(
            f"/v1/centers/{center}",
            json=center_document(center, name="Khác"),
            headers=stack.auth("nam-cuong", role="province") | {"If-Match": "2"},
        )
        assert province.status_code == 403
        audit = (await http.get(f"/v1/centers/{center}/audit", headers=it)).json()
    assert [(e["revision"], e["actor"], e["role"]) for e in audit["entries"]] == [
        (2, "it-1", "province_admin"),
        (1, "it-1", "province_admin"),
    ]
