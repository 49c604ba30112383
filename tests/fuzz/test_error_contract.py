"""The error shape holds where the HTTP fuzzing once found gaps.

Every refusal reads ``{"error": "...", ...}`` and a 422 names each bad field
(``motcua.shared.runtime.install_error_handlers``), including:

* a body that cannot be decoded (e.g. not UTF-8): FastAPI raises *Starlette's*
  ``HTTPException`` (400), as the router does for unknown routes (404) and methods (405);
* a rule on the body as a whole (it is not an object; "a refusal needs a reason"),
  whose location is just ``("body",)``: the field is ``body``.
"""

from __future__ import annotations

import httpx
import pytest

from motcua.devtools.stack import CENTER, Stack
from tests.fuzz.conftest import Seeded, bearer

pytestmark = pytest.mark.slow


async def test_a_body_that_cannot_be_decoded_is_refused_like_any_other_request(
    stack: Stack, seeded: Seeded
) -> None:
    targets = [
        ("POST", f"{stack.url('queue')}/centers/{CENTER}/tickets", {}),
        ("POST", f"{stack.url('intake')}/v1/dossiers/{seeded.dossier_id}/assign", bearer()),
        ("PUT", f"{stack.url('deadlines')}/v1/centers/{CENTER}/calendar", bearer()),
        ("POST", f"{stack.url('notify')}/optout", {}),
    ]
    answers = []
    async with httpx.AsyncClient(timeout=10) as client:
        for method, url, headers in targets:
            r = await client.request(
                method,
                url,
                content=b'{"line_code": "\xff\xfe"}',  # not UTF-8: unparsable
                headers=headers | {"Content-Type": "application/json"},
            )
            answers.append((url, r.status_code, r.json()))
    assert {status for _, status, _ in answers} == {400}, answers
    assert all("error" in body for _, _, body in answers), answers


async def test_a_422_for_a_rule_on_the_whole_body_still_names_a_field(
    stack: Stack, seeded: Seeded
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        refused = await client.post(
            f"{stack.url('intake')}/v1/dossiers/{seeded.dossier_id}/resolve",
            json={"outcome": "refused"},
            headers=bearer(role="officer"),
        )
        not_an_object = await client.post(
            f"{stack.url('queue')}/centers/{CENTER}/tickets", json=["justice"]
        )
    for r in (refused, not_an_object):
        assert r.status_code == 422, r.text
        assert [d["field"] for d in r.json()["details"]] == ["body"], r.text


async def test_an_unknown_route_or_method_is_refused_in_the_same_shape(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for service in ("queue", "intake", "deadlines", "notify"):
            missing = await client.get(f"{stack.url(service)}/no/such/route")
            wrong = await client.delete(f"{stack.url(service)}/healthz")
            assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
            assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})
