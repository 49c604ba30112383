"""A service's domain errors become answers through the table its app.py declares."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from motcua.shared.errors import DomainError, refusal, status_of
from motcua.shared.http_errors import install_error_handlers


class ShopError(DomainError):
    pass


class Missing(ShopError):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"unknown {what}")

    def extra(self) -> dict[str, Any]:
        return {"resource": self.what}


class GoneForGood(Missing):
    pass


class Bad(ShopError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class Busy(ShopError):
    retry_after = 7


class Stale(ShopError):
    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(message)


TABLE = {Missing: 404, Bad: 422, Busy: 429, Stale: 409}


def test_the_nearest_class_in_the_mro_decides() -> None:
    assert status_of(GoneForGood("shelf"), TABLE) == 404
    assert status_of(ShopError("what"), TABLE) == 400  # not classified: a bad request
    assert status_of(ShopError("what"), {ShopError: 409, Missing: 404}) == 409


def test_bodies_keep_the_shape_of_every_refusal() -> None:
    assert refusal(Missing("shelf"), 404) == ({"error": "unknown shelf", "resource": "shelf"}, {})
    assert refusal(Bad("qty", "must be positive"), 422) == (
        {"error": "invalid request", "details": [{"field": "qty", "error": "must be positive"}]},
        {},
    )
    assert refusal(Stale("changed meanwhile", "version"), 409) == (
        {"error": "changed meanwhile", "field": "version"},
        {},
    )
    assert refusal(Busy("later"), 429) == ({"error": "later"}, {"Retry-After": "7"})


def test_the_app_answers_with_the_table() -> None:
    app = FastAPI()

    @app.get("/gone")
    async def gone() -> None:
        raise GoneForGood("shelf")

    @app.get("/busy")
    async def busy() -> None:
        raise Busy("later")

    install_error_handlers(app, TABLE)
    client = TestClient(app)
    r = client.get("/gone")
    assert (r.status_code, r.json()) == (404, {"error": "unknown shelf", "resource": "shelf"})
    r = client.get("/busy")
    assert (r.status_code, r.json(), r.headers["Retry-After"]) == (429, {"error": "later"}, "7")
