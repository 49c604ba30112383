"""The refusals a route can answer are in its OpenAPI ``responses``, derived from what
answers them; a 405 names every method its path serves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from motcua.shared.auth import Principal
from motcua.shared.errors import DomainError
from motcua.shared.http_errors import document_refusals, install_error_handlers
from motcua.shared.idempotency_key import idempotency_key
from motcua.shared.policy import Operation, allowed


class Gone(DomainError):
    pass


def app() -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def read(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @router.post("/things", responses={404: {"description": "No such shelf"}})
    async def write(
        _: Annotated[Principal, allowed(Operation.DOSSIER_RECEIVE)],
        key: Annotated[str | None, idempotency_key(8, 128, "retry safely")] = None,
    ) -> dict[str, str]:
        return {}

    @router.put("/things/{thing_id}")
    async def replace(
        thing_id: int, key: Annotated[str | None, idempotency_key(8, 128, "retry safely")] = None
    ) -> dict[str, int]:
        return {"id": thing_id}

    @router.get("/things", response_class=HTMLResponse)
    async def page() -> str:
        return "<p>things</p>"

    errors = {Gone: 404}
    document_refusals(router, errors)
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app, errors)
    return app


def test_every_route_documents_the_tables_statuses_and_the_common_refusals() -> None:
    paths = app().openapi()["paths"]
    read = paths["/things/{thing_id}"]["get"]["responses"]
    assert set(read) == {"200", "404", "413", "422", "503"}  # no token: no 401 nor 403
    assert read["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/InvalidRequest")
    assert read["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Refusal")


def test_a_route_with_a_token_check_declares_it_and_keeps_its_own_words() -> None:
    document = app().openapi()
    write = document["paths"]["/things"]["post"]
    assert {"401", "403"} <= set(write["responses"])
    assert write["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/things/{thing_id}"]["get"]
    # Its own description, the shared body.
    assert write["responses"]["404"]["description"] == "No such shelf"
    assert write["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]


def test_an_html_route_documents_its_refusals_as_json() -> None:
    page = app().openapi()["paths"]["/things"]["get"]["responses"]
    assert list(page["200"]["content"]) == ["text/html"]
    assert list(page["422"]["content"]) == ["application/json"]


def test_the_idempotency_key_header_is_a_plain_string_with_its_rules() -> None:
    [header] = app().openapi()["paths"]["/things"]["post"]["parameters"]
    schema = header["schema"]
    assert (header["in"], header["name"]) == ("header", "Idempotency-Key")
    assert (schema["type"], schema["minLength"], schema["maxLength"]) == ("string", 8, 128)
    assert "anyOf" not in schema
    assert schema["pattern"] == "^[!-~]+$"


def test_the_header_is_enforced_as_documented() -> None:
    client = TestClient(app())
    assert client.put("/things/1", headers={"Idempotency-Key": "key-0001"}).status_code == 200
    for bad in ("has a space", "short"):
        answer = client.put("/things/1", headers={"Idempotency-Key": bad})
        assert answer.status_code == 422
        assert answer.json()["details"][0]["field"] == "header.Idempotency-Key"


def test_a_405_names_every_method_of_the_path() -> None:
    answer = TestClient(app()).delete("/things")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"  # both routes of the path
    assert answer.json() == {"error": "Method Not Allowed"}
