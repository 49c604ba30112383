"""Documents over HTTP: the counter digitises components, the officer attaches a signed
result, the citizen downloads with the dossier's secret, anyone verifies a result."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from motcua.services.intake.signing import verify_with
from tests.integration.intake.support import CENTER, Intake
from tests.support.waiting import eventually

PDF = b"%PDF-1.7\n" + os.urandom(40_000) + b"\n%%EOF\n"


def unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


async def attach(
    intake: Intake,
    dossier_id: str,
    component: int | str,
    data: bytes,
    media_type: str = "application/pdf",
    **params: Any,
) -> Any:
    return await intake.http.put(
        f"/v1/dossiers/{dossier_id}/components/{component}",
        content=data,
        params=params,
        headers=intake.auth() | {"Content-Type": media_type},
    )


async def test_a_clerk_digitises_a_component_once_and_reads_it_back(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]
    r = await attach(intake, d["id"], 1, PDF, file_name="../../etc/passwd\x00.pdf")
    assert r.status_code == 200, r.text
    doc = r.json()["document"]
    assert doc["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert doc["digitised"] is True
    assert "/" not in doc["file_name"]
    assert "\x00" not in doc["file_name"]
    assert not doc["file_name"].startswith(".")

    again = await attach(intake, d["id"], 1, PDF)
    assert again.json()["recorded_new"] is False
    assert again.json()["stored_new"] is False
    listing = await intake.http.get(f"/v1/dossiers/{d['id']}/documents", headers=intake.auth())
    assert [x["sha256"] for x in listing.json()] == [doc["sha256"]]

    down = await intake.http.get(
        f"/v1/dossiers/{d['id']}/documents/{doc['sha256']}", headers=intake.auth()
    )
    assert down.status_code == 200
    assert down.content == PDF
    assert down.headers["content-type"] == "application/pdf"

    events = await eventually(
        lambda: _attached_events(intake, d["id"]), until=lambda found: len(found) == 1
    )
    data = events[0]["data"]
    assert (data["sha256"], data["size"], data["component"]) == (doc["sha256"], len(PDF), 1)
    assert "file_name" not in data  # a label the citizen chose stays off the bus


async def _attached_events(intake: Intake, dossier_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in await intake.dossier_events(dossier_id)
        if e["event_type"] == "dossier.document_attached"
    ]


async def test_bad_uploads_get_a_clear_error_and_store_nothing(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]
    blobs = await intake.pg.fetchval("SELECT count(*) FROM document_blobs")

    r = await attach(intake, d["id"], 99, PDF)
    assert r.status_code == 422, r.text
    assert r.json()["details"][0]["field"] == "component"
    r = await attach(intake, d["id"], 1, b"MZ\x90\x00" + os.urandom(4000))
    assert r.status_code == 415, r.text
    assert r.json()["field"] == "body"
    r = await attach(intake, d["id"], 1, b"")
    assert r.status_code == 422, r.text
    r = await attach(intake, d["id"], 1, b"GIF89a" + os.urandom(100), media_type="image/gif")
    assert r.status_code == 415, r.text
    assert r.json()["field"] == "Content-Type"

    assert await intake.pg.fetchval("SELECT count(*) FROM document_blobs") == blobs
    listing = await intake.http.get(f"/v1/dossiers/{d['id']}/documents", headers=intake.auth())
    assert listing.json() == []


async def test_the_citizen_downloads_with_the_secret_and_nobody_else_does(intake: Intake) -> None:
    mine = await intake.receive()
    other = await intake.receive()
    doc = (await attach(intake, mine["dossier"]["id"], 1, PDF)).json()["document"]
    own = {"code": mine["dossier"]["code"], "secret": mine["secret"]}
    wrong = {"code": mine["dossier"]["code"], "secret": other["secret"]}

    r = await intake.http.post(f"/v1/public/documents/{doc['sha256']}", json=own)
    assert r.status_code == 200
    assert r.content == PDF
    for body in (wrong, {"code": other["dossier"]["code"], "secret": other["secret"]}):
        r = await intake.http.post(f"/v1/public/documents/{doc['sha256']}", json=body)
        assert r.status_code == 404, r.text
        assert PDF[:100] not in r.content
    # Another center's clerk sees nothing either.
    r = await intake.http.get(
        f"/v1/dossiers/{mine['dossier']['id']}/documents/{doc['sha256']}",
        headers=intake.auth("other-center"),
    )
    assert r.status_code == 403


async def test_a_signed_result_verifies_and_one_edited_byte_does_not(intake: Intake) -> None:
    received = await intake.receive()
    d = received["dossier"]
    result = b"%PDF-1.7\n" + b"Ket qua giai quyet " + os.urandom(20_000)
    path = f"/v1/dossiers/{d['id']}/result"
    officer = intake.auth(role="officer") | {"Content-Type": "application/pdf"}
    early = await intake.http.put(path, content=result, headers=officer)
    assert early.status_code == 409, early.text  # not resolved yet
    await intake.drive(d["id"], ["assign", "resolve"])
    clerk = await intake.http.put(
        path, content=result, headers=intake.auth() | {"Content-Type": "application/pdf"}
    )
    assert clerk.status_code == 403  # attaching the result is a decider's

    r = await intake.http.put(path, content=result, headers=officer)
    assert r.status_code == 200, r.text
    v = r.json()["verification"]
    assert v["dossier_code"] == d["code"]
    assert v["center_id"] == CENTER
    assert v["result_sha256"] == hashlib.sha256(result).hexdigest()

    # A third party checks the signature with the published key alone.
    keys = (await intake.http.get(f"/v1/centers/{CENTER}/signing-keys")).json()
    key = next(k for k in keys if k["key_id"] == v["key_id"])
    assert verify_with(unb64(key["public_key"]), unb64(v["record"]), unb64(v["signature"]))
    assert b"applicant" not in unb64(v["record"])

    by_id = (await intake.http.get(f"/v1/public/verify/{v['id']}")).json()
    assert by_id["genuine"] is True
    copy = (await intake.http.post("/v1/public/verify", content=result)).json()
    assert copy["genuine"] is True
    assert copy["verification"]["dossier_code"] == d["code"]
    edited = bytearray(result)
    edited[len(edited) // 2] ^= 0x01
    forged = (await intake.http.post("/v1/public/verify", content=bytes(edited))).json()
    assert forged == {
        "genuine": False,
        "verification": None,
        "sha256": hashlib.sha256(edited).hexdigest(),
    }

    # The citizen finds the result among the dossier's documents, and downloads it.
    own = {"code": d["code"], "secret": received["secret"]}
    listing = (await intake.http.post("/v1/public/documents", json=own)).json()
    assert [(x["kind"], x["sha256"]) for x in listing] == [("result", v["result_sha256"])]
    down = await intake.http.post(f"/v1/public/documents/{v['result_sha256']}", json=own)
    assert down.content == result


async def test_an_upload_past_the_shared_body_cap_streams_in(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]
    big = b"\xff\xd8\xff\xe0" + os.urandom(3 * 1024 * 1024)  # 3 MiB: over the 1 MiB JSON cap
    r = await attach(intake, d["id"], 2, big, media_type="image/jpeg", digitised="false")
    assert r.status_code == 200, r.text
    assert r.json()["document"]["digitised"] is False
    held = await intake.pg.fetchval(
        "SELECT count(*) FROM document_chunks c JOIN document_blobs b "
        "ON b.location = c.location::text WHERE b.sha256 = $1",
        hashlib.sha256(big).digest(),
    )
    assert held == -(-len(big) // (256 * 1024))  # stored once, in 256 KiB rows


async def _raw_put(
    intake: Intake, path: str, declared: int, sent: bytes, method: str = "PUT"
) -> bytes:
    """A PUT (or ``method``) that declares ``declared`` bytes, sends ``sent`` and stops
    writing: the answer the server gives, if any, before the connection is dropped."""
    url = httpx.URL(str(intake.http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/pdf\r\n"
        f"Content-Length: {declared}\r\nAuthorization: {intake.auth()['Authorization']}\r\n\r\n"
    )
    writer.write(head.encode() + sent)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), timeout=2)
    except TimeoutError:
        return b""  # still waiting for the rest of the body
    finally:
        writer.close()


async def test_two_gigabytes_are_refused_by_their_declared_length(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]
    answer = await _raw_put(intake, f"/v1/dossiers/{d['id']}/components/1", 2 * 1024**3, b"")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"field":"Content-Length"' in answer


async def test_a_client_that_goes_away_mid_upload_leaves_nothing(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]
    blobs = await intake.pg.fetchval("SELECT count(*) FROM document_blobs")
    chunks = await intake.pg.fetchval("SELECT count(*) FROM document_chunks")
    sent = b"%PDF-1.7\n" + os.urandom(600_000)  # two chunk rows' worth, of 2 MB declared
    await _raw_put(intake, f"/v1/dossiers/{d['id']}/components/1", 2_000_000, sent)

    async def settled() -> tuple[int, int]:
        return (
            await intake.pg.fetchval("SELECT count(*) FROM document_blobs"),
            await intake.pg.fetchval("SELECT count(*) FROM document_chunks"),
        )

    # The server notices the disconnect and rolls the upload's transaction back: wait
    # until no transaction is left open on the database, then nothing must remain.
    async def open_transactions() -> int:
        return await intake.pg.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )

    await eventually(open_transactions, until=lambda n: n == 0)
    assert await settled() == (blobs, chunks)
    listing = await intake.http.get(f"/v1/dossiers/{d['id']}/documents", headers=intake.auth())
    assert listing.json() == []


async def _resolved_with_result(intake: Intake) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    received = await intake.receive()
    d = received["dossier"]
    await intake.drive(d["id"], ["assign", "resolve"])
    result = b"%PDF-1.4\n" + os.urandom(5000)
    r = await intake.http.put(
        f"/v1/dossiers/{d['id']}/result",
        content=result,
        params={"file_name": "ket-qua.pdf"},
        headers=intake.auth(role="officer") | {"Content-Type": "application/pdf"},
    )
    assert r.status_code == 200, r.text
    return received, result, r.json()["verification"]


async def test_the_verification_page_says_genuine_or_not_ours(intake: Intake) -> None:
    _, _, v = await _resolved_with_result(intake)
    page = await intake.http.get(f"/verify/{v['id']}", params={"lang": "en"})
    assert page.status_code == 200
    assert "This result is genuine" in page.text
    center = intake.settings.center_names[CENTER]
    assert f"Issued by {center} on " in page.text
    assert f"for dossier {v['dossier_code']}" in page.text
    assert "Nguy" not in page.text  # no applicant name, whatever the sample holds

    for unknown in (str(uuid.uuid4()), "not-a-number"):
        page = await intake.http.get(f"/verify/{unknown}", params={"lang": "en"})
        assert page.status_code == 404
        assert "Not issued by us" in page.text
    qr = await intake.http.get(f"/v1/public/verify/{v['id']}/qr.svg")
    assert qr.headers["content-type"] == "image/svg+xml"
    assert qr.text.startswith("<svg")


async def test_the_verification_page_checks_a_copy_of_the_file(intake: Intake) -> None:
    """The page's file form streams the copy to the API, then shows the verdict for the
    hash it answered; a pasted hash takes the same page without the upload."""
    _, result, v = await _resolved_with_result(intake)
    center = intake.settings.center_names[CENTER]
    edited = bytearray(result)
    edited[-1] ^= 0x01
    for copy, genuine in ((result, True), (bytes(edited), False)):
        checked = await intake.http.post("/v1/public/verify", content=copy)
        assert checked.status_code == 200, checked.text
        assert checked.json()["genuine"] is genuine
        page = await intake.http.get(
            "/verify", params={"sha256": checked.json()["sha256"], "lang": "en"}
        )
        if genuine:
            assert page.status_code == 200
            assert f"Issued by {center} on " in page.text
            assert f"for dossier {v['dossier_code']}" in page.text
        else:
            assert page.status_code == 404
            assert "Not issued by us" in page.text
            assert hashlib.sha256(copy).hexdigest() in page.text
    vi = await intake.http.get("/verify", params={"sha256": v["result_sha256"].upper()})
    assert "Kết quả này là thật" in vi.text

    empty = await intake.http.post("/v1/public/verify", content=b"")
    assert empty.status_code == 422
    assert empty.json()["details"][0]["field"] == "body"
    huge = await _raw_put(intake, "/v1/public/verify", 2 * 1024**3, b"", method="POST")
    assert huge.startswith(b"HTTP/1.1 413"), huge[:200]
    assert b'"field":"Content-Length"' in huge
    bad = await intake.http.get("/verify", params={"sha256": "not-a-hash", "lang": "en"})
    assert bad.status_code == 422
    assert 'data-testid="verify-sha256-error"' in bad.text


async def test_the_lookup_page_offers_the_result_without_echoing_the_secret(
    intake: Intake,
) -> None:
    received, result, _ = await _resolved_with_result(intake)
    page = await intake.http.post(
        "/lookup", data={"code": received["dossier"]["code"], "secret": received["secret"]}
    )
    assert page.status_code == 200, page.text
    assert received["secret"] not in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    down = await intake.http.post("/lookup/result", data={"token": token[1]})
    assert down.status_code == 200
    assert down.content == result
    assert 'filename="ket-qua.pdf"' in down.headers["content-disposition"]

    forged = token[1][:-2] + ("AA" if not token[1].endswith("AA") else "BB")
    refused = await intake.http.post("/lookup/result", data={"token": forged})
    assert refused.status_code == 404
    assert result[:50] not in refused.content


async def test_a_vietnamese_file_name_comes_back_in_the_download(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]
    name = "Giấy chứng sinh (bản sao).pdf"
    doc = (await attach(intake, d["id"], 1, PDF, file_name=name)).json()["document"]
    assert doc["file_name"] == name
    down = await intake.http.get(
        f"/v1/dossiers/{d['id']}/documents/{doc['sha256']}", headers=intake.auth()
    )
    assert down.status_code == 200
    disposition = down.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Gi_y ch_ng sinh (b_n sao).pdf"')
    assert "filename*=UTF-8''Gi%E1%BA%A5y%20ch%E1%BB%A9ng%20sinh%20%28b%E1%BA%A3n%20sao%29.pdf" in (
        disposition
    )


async def test_an_upload_without_a_length_is_refused_before_reading(intake: Intake) -> None:
    d = (await intake.receive())["dossier"]

    async def endless() -> AsyncIterator[bytes]:
        yield b"%PDF-1.7\n"
        for _ in range(64):  # chunked, no Content-Length: the cap could not be known ahead
            yield os.urandom(65_536)

    r = await intake.http.put(
        f"/v1/dossiers/{d['id']}/components/1",
        content=endless(),
        headers=intake.auth() | {"Content-Type": "application/pdf"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["details"][0]["field"] == "Content-Length"


async def test_the_scorecard_counts_components_digitised_at_the_counter(intake: Intake) -> None:
    since = datetime.now(UTC)
    d = (await intake.receive())["dossier"]
    await attach(intake, d["id"], 1, PDF)
    await attach(intake, d["id"], 2, b"%PDF-1.5\n" + os.urandom(100), digitised="false")
    until = datetime.now(UTC) + timedelta(seconds=1)
    r = await intake.http.get(
        "/v1/documents/digitisation",
        params={"since": since.isoformat(), "until": until.isoformat()},
        headers=intake.auth(),
    )
    assert r.status_code == 200, r.text
    counts = r.json()
    assert counts["dossiers_with_files"] == 1
    assert counts["components_stored"] == 2
    assert counts["components_digitised"] == 1
    assert counts["results_stored"] == 0
    other = await intake.http.get(
        "/v1/documents/digitisation",
        params={"since": since.isoformat(), "until": until.isoformat()},
        headers=intake.auth("another-center"),
    )
    assert other.json()["components_stored"] == 0  # a center sees its own files only
    naive = await intake.http.get(
        "/v1/documents/digitisation",
        params={"since": "2026-01-01T00:00:00", "until": "2026-02-01T00:00:00"},
        headers=intake.auth(),
    )
    assert naive.status_code == 422


async def test_the_counter_console_may_upload_from_its_origin(intake: Intake) -> None:
    r = await intake.http.options(
        "/v1/dossiers/00000000-0000-0000-0000-000000000000/components/1",
        headers={
            "Origin": intake.settings.cors_origins[0],
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 200, r.text
    assert "PUT" in r.headers["access-control-allow-methods"]


async def test_a_result_for_an_undecided_dossier_is_refused_before_it_is_read(
    intake: Intake,
) -> None:
    blobs = await intake.pg.fetchval("SELECT count(*) FROM document_blobs")
    for ops in ([], ["assign"], ["assign", "stop"]):
        d = (await intake.receive())["dossier"]
        await intake.drive(d["id"], ops)
        r = await intake.http.put(
            f"/v1/dossiers/{d['id']}/result",
            content=b"%PDF-1.7\n" + os.urandom(3000),
            headers=intake.auth(role="officer") | {"Content-Type": "application/pdf"},
        )
        assert r.status_code == 409, r.text
    # A center without a key is refused the same way outside dev mode (the unit tests).
    assert await intake.pg.fetchval("SELECT count(*) FROM document_blobs") == blobs
