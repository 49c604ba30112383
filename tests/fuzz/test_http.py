"""schemathesis against every service's OpenAPI, as served by the running process.

Schema-valid and schema-violating requests (a clerk token of the center, and the
center's real ticket and dossier in the paths half of the time, so requests get
past the first check). No answer may be a 5xx, and every error answer must say
what went wrong: a JSON object ``{"error": "..."}`` (a 422 also lists each problem
with its field), or an HTML page for the browser pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from motcua.devtools.stack import Stack
from tests.fuzz.conftest import Seeded, bearer, replayable

pytestmark = pytest.mark.slow

EXAMPLES = 8  # per operation and mode: enough to find a crash, quick enough for CI
ENDLESS = {("GET", "/centers/{center_id}/display/stream")}  # an event stream never ends


def header(headers: Any, name: str) -> str:
    """One header of a schemathesis response (lower-case names, list values)."""
    value = headers.get(name, "")
    return str(value[0]) if isinstance(value, list) and value else str(value or "")


def verdict(method: str, path: str, status: int, headers: Any, body: bytes) -> str | None:
    """Why this answer is not acceptable, or None."""
    where = f"{method} {path} -> {status}"
    if status >= 500:
        return f"{where}: server error {body[:300]!r}"
    if status < 400:
        return None
    content_type = header(headers, "content-type")
    if content_type.startswith("text/html"):
        return None if body.strip() else f"{where}: empty HTML error page"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"{where}: error body is not JSON ({content_type}): {body[:200]!r}"
    message = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(message, str) or not message.strip():
        return f"{where}: error body carries no message: {body[:200]!r}"
    if status == 422:
        details = parsed.get("details")
        if not details or not all(
            isinstance(d, dict)
            and isinstance(d.get("field"), str)
            and d["field"]
            and d.get("error")
            for d in details
        ):
            return f"{where}: a 422 without field details: {body[:200]!r}"
    return None


def fuzz(url: str, raw: dict[str, Any], seeded: Seeded) -> tuple[int, list[str]]:
    """Every operation, positive then negative; returns (requests made, problems)."""
    schema = schemathesis.openapi.from_dict(raw)
    problems: list[str] = []
    calls = 0
    session = requests.Session()
    for result in schema.get_all_operations():
        op = result.ok()
        method, path = op.method.upper(), op.path
        if (method, path) in ENDLESS:
            continue
        real = {k: v for k, v in seeded.path_values().items() if f"{{{k}}}" in path}
        for mode, fixed in (
            (GenerationMode.POSITIVE, real),
            (GenerationMode.NEGATIVE, {}),
        ):
            strategy = op.as_strategy(
                generation_mode=mode, headers=bearer(), path_parameters=fixed or None
            )

            @replayable(EXAMPLES)
            @given(case=strategy)
            def send(case: Any) -> None:
                nonlocal calls
                try:
                    response = case.call(base_url=url, session=session, timeout=15)
                except (
                    requests.exceptions.InvalidHeader,
                    requests.exceptions.InvalidURL,
                    UnicodeError,
                    ValueError,
                ):
                    return  # not sendable over HTTP at all: no server sees it
                calls += 1
                problem = verdict(
                    case.operation.method.upper(),
                    case.operation.path,
                    response.status_code,
                    response.headers,
                    response.content,
                )
                if problem and problem not in problems:
                    problems.append(problem)

            # Nothing to break (no parameter at all can be made invalid) is fine.
            with contextlib.suppress(Unsatisfiable):
                send()
    session.close()
    return calls, problems


@pytest.mark.parametrize("service", ["queue", "intake", "deadlines", "notify"])
async def test_no_5xx_and_every_error_says_what_went_wrong(
    stack: Stack, seeded: Seeded, service: str
) -> None:
    url = stack.url(service)
    async with httpx.AsyncClient(timeout=10) as client:
        raw = (await client.get(f"{url}/openapi.json")).json()
    assert len(raw["paths"]) > 3
    calls, problems = await asyncio.to_thread(fuzz, url, raw, seeded)
    assert calls > 20 * EXAMPLES // 4
    assert not problems, "\n".join(problems)
    # And the service is still whole afterwards.
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{url}/readyz")).status_code == 200
