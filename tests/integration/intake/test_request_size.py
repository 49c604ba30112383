"""Request bodies are capped for every route: by Content-Length, and while streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.intake.support import Intake

MiB = 1024 * 1024


def _refused_for_size(r: object) -> None:
    assert r.status_code == 413, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["error"] == "request body too large"
    assert body["details"][0]["field"] == "body"
    assert "1048576 bytes" in body["details"][0]["error"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/public/lookup", "application/json"),
        ("/v1/public/dossiers", "application/json"),
        ("/lookup", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    intake: Intake, path: str, content_type: str
) -> None:
    r = await intake.http.post(
        path, content=b"a" * (2 * MiB), headers={"Content-Type": content_type}
    )
    _refused_for_size(r)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/public/lookup", "application/json"),
        ("/lookup", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_streamed_body_is_cut_off_at_the_cap(
    intake: Intake, path: str, content_type: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB, no Content-Length: chunked
            yield b'{"code":"' + b"a" * (64 * 1024 - 9)

    r = await intake.http.post(path, content=chunks(), headers={"Content-Type": content_type})
    _refused_for_size(r)


async def test_a_body_under_the_cap_still_gets_its_own_answer(intake: Intake) -> None:
    r = await intake.http.post("/v1/public/lookup", json={"code": "x" * 1000, "secret": "y"})
    assert r.status_code == 422  # read and checked, not refused for size
