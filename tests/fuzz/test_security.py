"""Security checks against the running services.

* A token of one center cannot touch another center: every write route of every
  service is enumerated from its OpenAPI; those that refuse an anonymous caller
  (401) are driven with schema-valid requests under an admin token of another
  center, aimed at the sample center's real counter, ticket and dossier where the
  path names one. None of those may succeed, the center check must be what refuses
  at least one of them, and afterwards the sample center's state in all four
  schemas must be exactly as before (routes that act in the caller's own center,
  such as a receipt, may succeed there). A write route that takes anonymous
  callers must be one of the public ones named below.
* The citizen lookup resists enumeration: a wrong secret and an unknown code get
  byte-identical 404s, then 429 with Retry-After, and while limited even the right
  secret gets 429 (the limit is no oracle).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import pytest
import requests
import schemathesis
from hypothesis import given
from schemathesis.generation import GenerationMode

from motcua.devtools.stack import CENTER, Stack, quiet
from tests.fuzz.conftest import OTHER_CENTER, Seeded, bearer, replayable
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Write routes open to anyone, and why.
PUBLIC = {
    ("queue", "POST", "/centers/{center_id}/tickets"): "the kiosk: anyone takes a ticket",
    ("intake", "POST", "/v1/public/dossiers"): "online submission by the citizen",
    ("intake", "POST", "/v1/public/lookup"): "citizen lookup (code + secret)",
    ("intake", "POST", "/v1/public/receipt"): "citizen receipt (code + secret)",
    ("notify", "POST", "/optout"): "opt-out by the signed token from a message",
    ("notify", "POST", "/feedback"): "rating by the signed token from a message",
    ("notify", "POST", "/inbound/sms"): "the SMS gateway, by its shared secret",
    ("notify", "POST", "/optout/{token}"): "the opt-out page of a message's link",
    ("notify", "POST", "/feedback/{token}"): "the rating page of a message's link",
    ("queue", "POST", "/centers/{center_id}/appointments"): "a citizen books a slot",
    ("queue", "POST", "/centers/{center_id}/appointments/{code}/cancel"): (
        "the booking's holder, by its code"
    ),
    ("queue", "POST", "/centers/{center_id}/appointments/{code}/check-in"): (
        "the kiosk checks a booking in by its code"
    ),
    ("queue", "POST", "/centers/{center_id}/appointments/{code}/reschedule"): (
        "the booking's holder, by its code"
    ),
    ("queue", "POST", "/centers/{center_id}/remote-tickets"): (
        "a number for today from a phone, inside the opening window and limits"
    ),
    ("queue", "POST", "/centers/{center_id}/tickets/{lookup_code}/arrival"): (
        "arrival confirmed by the door's code of the day"
    ),
    (
        "intake",
        "POST",
        "/v1/public/documents",
    ): "the citizen lists a dossier.s files, by code + secret",
    ("intake", "POST", "/v1/public/documents/{sha256}"): (
        "the citizen downloads a file of the dossier, by code + secret"
    ),
    ("intake", "POST", "/v1/public/verify"): "anyone checks a result file against its record",
    ("intake", "PUT", "/v1/public/dossiers/{code}/documents/{component}"): (
        "the citizen attaches a component to their own waiting submission, by its secret"
    ),
    ("intake", "POST", "/v1/public/dossiers/{code}/documents/{component}/reuse"): (
        "the citizen reuses a file of an earlier dossier, by both dossiers' secrets"
    ),
}
EXAMPLES = 6


def write_operations(raw: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, ops in raw["paths"].items()
        for method in ops
        if method.upper() in WRITES
    )


async def snapshot(stack: Stack) -> dict[str, Any]:
    """What the sample center's clerks could change, across the four schemas."""
    queries = {
        "tickets": "SELECT ticket_id, status, line_code, counter_id, call_count, dossier_id"
        " FROM queue.tickets WHERE center_id = $1 ORDER BY ticket_id",
        "counters": "SELECT counter_id, is_open, line_codes, clerk_id FROM queue.counters"
        " WHERE center_id = $1 ORDER BY counter_id",
        "dossiers": "SELECT id, status, version, assignee, outcome, ticket_id FROM intake.dossiers"
        " WHERE center_id = $1 ORDER BY id",
        "history": "SELECT count(*) FROM intake.dossier_history h JOIN intake.dossiers d"
        " ON d.id = h.dossier_id WHERE d.center_id = $1",
        "clocks": "SELECT dossier_id, due_at, closed_kind, paused_since FROM deadlines.clocks"
        " WHERE center_id = $1 ORDER BY dossier_id",
        "facts": "SELECT count(*) FROM deadlines.clock_facts f JOIN deadlines.clocks c"
        " USING (dossier_id) WHERE c.center_id = $1",
        "calendar": "SELECT overrides, version FROM deadlines.centers WHERE center_id = $1",
        "served": "SELECT ticket_id, dossier_id FROM intake.served_tickets WHERE center_id = $1"
        " ORDER BY ticket_id",
    }
    conn = await asyncpg.connect(stack.db_url)
    try:
        return {
            name: json.dumps([dict(r) for r in await conn.fetch(q, CENTER)], default=str)
            for name, q in queries.items()
        }
    finally:
        await conn.close()


def attack(url: str, raw: dict[str, Any], ops: list[tuple[str, str]], seeded: Seeded) -> Any:
    """Schema-valid requests on the sample center's resources with another center's token."""
    schema = schemathesis.openapi.from_dict(raw)
    foreign = bearer(OTHER_CENTER, role="admin")
    answers: dict[tuple[str, str], list[tuple[int, str]]] = {op: [] for op in ops}
    session = requests.Session()
    for result in schema.get_all_operations():
        op = result.ok()
        key = (op.method.upper(), op.path)
        if key not in answers:
            continue
        fixed = {k: v for k, v in seeded.path_values().items() if f"{{{k}}}" in op.path}
        strategy = op.as_strategy(
            generation_mode=GenerationMode.POSITIVE,
            headers=foreign,
            path_parameters=fixed or None,
        )

        @replayable(EXAMPLES)
        @given(case=strategy)
        def send(case: Any) -> None:
            try:
                r = case.call(base_url=url, session=session, headers=foreign, timeout=15)
            except (requests.exceptions.InvalidHeader, UnicodeError, ValueError):
                return
            answers[(case.operation.method.upper(), case.operation.path)].append(
                (r.status_code, r.content[:200].decode(errors="replace"))
            )

        send()
    session.close()
    return answers


async def test_a_token_of_another_center_touches_nothing(stack: Stack, seeded: Seeded) -> None:
    guarded: dict[str, list[tuple[str, str]]] = {}
    open_writes: list[tuple[str, str, str]] = []
    raws: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=15) as client:
        for service in ("queue", "intake", "deadlines", "notify"):
            url = stack.url(service)
            raws[service] = raw = (await client.get(f"{url}/openapi.json")).json()
            for method, path in write_operations(raw):
                concrete = path
                for name, value in seeded.path_values().items():
                    concrete = concrete.replace(f"{{{name}}}", str(value))
                r = await client.request(method, f"{url}{concrete}", json={})
                if r.status_code == 401:
                    guarded.setdefault(service, []).append((method, path))
                else:
                    open_writes.append((service, method, path))
    unexplained = [w for w in open_writes if w not in PUBLIC]
    assert not unexplained, f"write routes that take anonymous callers: {unexplained}"
    assert sum(len(v) for v in guarded.values()) >= 15  # the clerk routes were found

    await eventually(lambda: quiet(stack), until=lambda q: not any(q.values()), timeout=60)
    before = await snapshot(stack)
    failures: list[str] = []
    aimed = 0
    for service, ops in guarded.items():
        answers = await asyncio.to_thread(attack, stack.url(service), raws[service], ops, seeded)
        for (method, path), got in answers.items():
            where = f"{service} {method} {path}"
            assert got, f"{where}: no request was generated"
            failures += [f"{where} -> {s} {body}" for s, body in got if s >= 500]
            if not any(f"{{{name}}}" in path for name in seeded.path_values()):
                continue  # acts in the caller's own center (e.g. a receipt): see the snapshot
            aimed += 1
            failures += [f"{where} -> {s} {body}" for s, body in got if s < 400]
            if not any(s in (403, 404) for s, _ in got):
                failures.append(f"{where}: never refused by the center check: {got[:3]}")
    assert aimed >= 15  # routes aimed at the sample center's resources
    assert not failures, "\n".join(failures)
    await eventually(lambda: quiet(stack), until=lambda q: not any(q.values()), timeout=60)
    after = await snapshot(stack)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"the other center's token changed {changed}"


async def test_citizen_lookup_resists_enumeration(stack: Stack, seeded: Seeded) -> None:
    url = f"{stack.url('intake')}/v1/public/lookup"
    guesser = {"X-Forwarded-For": "203.0.113.77"}
    right = {"code": seeded.dossier_code, "secret": seeded.secret}
    wrong_secret = {"code": seeded.dossier_code, "secret": "ZZZZZ-ZZZZZ"}
    unknown_code = {"code": seeded.dossier_code[:-1] + "9X", "secret": seeded.secret}
    async with httpx.AsyncClient(timeout=10) as client:
        misses: list[httpx.Response] = []
        for i in range(60):
            r = await client.post(url, json=[wrong_secret, unknown_code][i % 2], headers=guesser)
            if r.status_code == 429:
                break
            misses.append(r)
        else:
            pytest.fail("60 guesses from one address and no 429")
        assert len(misses) >= 2
        assert {m.status_code for m in misses} == {404}
        assert len({m.content for m in misses}) == 1  # identical, whatever was wrong
        same = {tuple(sorted((k, v) for k, v in m.headers.items() if k != "date")) for m in misses}
        assert len(same) == 1
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]
        # While limited even the right code and secret are refused: no oracle.
        assert (await client.post(url, json=right, headers=guesser)).status_code == 429
        # Another citizen is not affected, and sees no personal data.
        found = await client.post(url, json=right, headers={"X-Forwarded-For": "203.0.113.78"})
    assert found.status_code == 200, found.text
    text = found.text
    for personal in (seeded.phone, seeded.phone[1:], seeded.id_number, "Lê Thị Mai"):
        assert personal not in text
    assert found.json()["code"] == seeded.dossier_code
