"""Two gaps in the error shape that the HTTP fuzzing found.

Every refusal is meant to read ``{"error": "...", ...}`` and a 422 to name the bad
field (``shared.runtime.install_error_handlers``). Two kinds of answer slip past:

* a body that cannot be decoded (e.g. not UTF-8): FastAPI raises *Starlette's* ``HTTPException``
  (400, "There was an error parsing the body"), the runtime only handles FastAPI's
  subclass, so the answer is FastAPI's default ``{"detail": ...}`` (so are 404/405
  for unknown routes);
* a rule on the body as a whole (it is not an object; "a refusal needs a reason")
  is reported with ``"field": ""``, because the location is just ``("body",)``.
"""

from __future__ import annotations

import httpx
import pytest

from chaos.stack import CENTER, Stack
from tests.fuzz.conftest import Seeded, bearer

pytestmark = pytest.mark.slow

NOT_JSON_BUG = (
    "shared/runtime.py: install_error_handlers handles fastapi.HTTPException only; the 400 "
    "FastAPI raises for an unparsable body (a starlette HTTPException) answers "
    '{"detail": ...} instead of {"error": ...}'
)
NO_FIELD_BUG = (
    "shared/runtime.py: a validation error located at the body itself (not an object, or a "
    "model-level rule such as intake's 'a refusal needs a reason') is reported with field ''"
)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=NOT_JSON_BUG)
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


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=NO_FIELD_BUG)
async def test_a_422_for_a_rule_on_the_whole_body_still_names_a_field(
    stack: Stack, seeded: Seeded
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        refused = await client.post(
            f"{stack.url('intake')}/v1/dossiers/{seeded.dossier_id}/resolve",
            json={"outcome": "refused"},
            headers=bearer(),
        )
        not_an_object = await client.post(
            f"{stack.url('queue')}/centers/{CENTER}/tickets", json=["justice"]
        )
    for r in (refused, not_an_object):
        assert r.status_code == 422, r.text
        assert all(d["field"] for d in r.json()["details"]), r.text
