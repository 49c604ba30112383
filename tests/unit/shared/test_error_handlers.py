"""Every refusal of a service reads ``{"error": ...}``; a 422 names each bad field."""

from __future__ import annotations

from typing import Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_base
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, model_validator

from motcua.shared.runtime import install_error_handlers


class Refusal(BaseModel):
    outcome: str
    reason: str | None = None

    @model_validator(mode="after")
    def _needs_reason(self) -> Refusal:
        if self.outcome == "refused" and not self.reason:
            raise ValueError("a refusal needs a reason")
        return self


class Nested(BaseModel):
    body: str  # a field that happens to be called like the location
    inner: Refusal


def app() -> FastAPI:
    app = FastAPI()

    @app.post("/refusals")
    async def refuse(refusal: Refusal) -> dict[str, str]:
        return {"outcome": refusal.outcome}

    @app.post("/nested")
    async def nested(value: Nested) -> dict[str, str]:
        return {"body": value.body}

    @app.get("/items/{n}")
    async def item(n: int, limit: int = 10) -> dict[str, int]:
        return {"n": n, "limit": limit}

    @app.get("/conflict")
    async def conflict() -> None:
        raise HTTPException(409, "already there", headers={"X-Why": "twice"})

    @app.get("/structured")
    async def structured() -> None:
        raise HTTPException(422, {"error": "invalid request", "details": [{"field": "k"}]})

    @app.get("/odd")
    async def odd() -> None:
        raise HTTPException(418, ["not", "a", "message"])

    @app.post("/store/{name}")
    async def store(name: str, refusal: Refusal, tag: str = "") -> None:
        raise asyncpg.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8"')

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals")

    @app.get("/restart")
    async def restart() -> None:
        raise asyncpg.InternalClientError("cannot switch to state 15")

    @app.get("/misuse")
    async def misuse() -> None:
        raise asyncpg_base.DataError("invalid input for query argument $1: 'x' (an int)")

    install_error_handlers(app)
    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app(), raise_server_exceptions=False)


def fields(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid request"
    return [d["field"] for d in r.json()["details"]]


def test_the_routers_own_refusals_keep_the_shape(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    wrong = client.delete("/refusals")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})
    assert wrong.headers["allow"] == "POST"


def test_a_body_that_cannot_be_decoded_is_a_400_with_a_message(client: TestClient) -> None:
    r = client.post(
        "/refusals",
        content=b'{"outcome": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {"error": "There was an error parsing the body"}


def test_a_422_names_the_field_or_the_body_as_a_whole(client: TestClient) -> None:
    assert fields(client.post("/refusals", json={"outcome": "refused"})) == ["body"]
    assert fields(client.post("/refusals", json=["refused"])) == ["body"]
    assert fields(client.post("/refusals", json={})) == ["outcome"]
    broken = client.post(
        "/refusals", content=b'{"outcome": ', headers={"Content-Type": "application/json"}
    )
    assert fields(broken) == ["body"]
    assert fields(client.post("/nested", json={"body": 1, "inner": {"outcome": "refused"}})) == [
        "body",
        "inner",
    ]
    assert fields(client.get("/items/x?limit=y")) == ["path.n", "query.limit"]


def test_an_http_exception_keeps_its_status_headers_and_message(client: TestClient) -> None:
    r = client.get("/conflict")
    assert (r.status_code, r.json()) == (409, {"error": "already there"})
    assert r.headers["x-why"] == "twice"
    r = client.get("/structured")
    assert r.json() == {"error": "invalid request", "details": [{"field": "k"}]}
    r = client.get("/odd")
    assert (r.status_code, r.json()) == (
        418,
        {"error": "I'm a Teapot", "details": ["not", "a", "message"]},
    )


def test_a_crash_says_so_without_a_trace(client: TestClient) -> None:
    r = client.get("/crash")
    assert (r.status_code, r.json()) == (500, {"error": "internal error"})
    assert "secret" not in r.text


def test_a_connection_broken_by_a_restart_answers_503(client: TestClient) -> None:
    r = client.get("/restart")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert "retry" in r.json()["error"]


def test_a_bad_query_argument_is_a_bug_not_an_outage(client: TestClient) -> None:
    # asyncpg's client-side DataError is an InterfaceError, like "connection closed";
    # a 503 would tell the client to retry what can never succeed.
    r = client.get("/misuse")
    assert (r.status_code, r.json()) == (500, {"error": "internal error"})
    assert "retry-after" not in r.headers


def test_text_the_database_cannot_store_is_the_requests_fault(client: TestClient) -> None:
    assert fields(client.post("/store/a", json={"outcome": "x\u0000"})) == ["body"]
    assert fields(client.post("/store/a%00b?tag=%00", json={"outcome": "x"})) == [
        "path.name",
        "query.tag",
    ]
