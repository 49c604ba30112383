"""Every HTTP answer is counted by route template and status, 5xx included."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from motcua.shared.http_metrics import UNMATCHED
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.settings import ServiceSettings

SERVICE = "metered"


def count(route: str, code: int, method: str = "GET") -> float:
    labels = {"service": SERVICE, "method": method, "route": route, "code": str(code)}
    return REGISTRY.get_sample_value("motcua_http_responses_total", labels) or 0.0


def client() -> TestClient:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        if thing_id == 0:
            raise HTTPException(404, "no such thing")
        if thing_id == 13:
            raise RuntimeError("a bug")
        return {"id": thing_id}

    runtime = ServiceRuntime(SERVICE, ServiceSettings(dev_mode=True), Path("."))
    app = runtime.create_app(router, title=SERVICE)
    # No `with`: the lifespan (pool, broker) is not needed by these routes.
    return TestClient(app, raise_server_exceptions=False)


def test_answers_are_counted_by_template_and_status() -> None:
    http = client()
    before = {code: count("/things/{thing_id}", code) for code in (200, 404, 422, 500)} | {
        "unmatched": count(UNMATCHED, 404)
    }

    assert http.get("/things/1").status_code == 200
    assert http.get("/things/2").status_code == 200
    assert http.get("/things/0").status_code == 404
    assert http.get("/things/nope").status_code == 422
    assert http.get("/things/13").status_code == 500
    assert http.get("/no/such/route").status_code == 404

    assert count("/things/{thing_id}", 200) - before[200] == 2
    assert count("/things/{thing_id}", 404) - before[404] == 1
    assert count("/things/{thing_id}", 422) - before[422] == 1
    # The unhandled error: the server's last resort answered, and it still counts.
    assert count("/things/{thing_id}", 500) - before[500] == 1
    # Raw paths never become labels: a scan cannot grow the series.
    assert count(UNMATCHED, 404) - before["unmatched"] == 1
    assert count("/things/1", 200) == 0


def test_refusals_before_routing_are_counted() -> None:
    http = client()
    route_label = UNMATCHED
    before = count(route_label, 413, "POST")
    big = b"x" * (ServiceSettings(dev_mode=True).max_request_bytes + 1)
    assert http.post("/things/1", content=big).status_code == 413
    assert count(route_label, 413, "POST") - before == 1


def test_an_unknown_method_is_counted_as_other() -> None:
    http = client()
    before = count(UNMATCHED, 405, "OTHER") + count("/things/{thing_id}", 405, "OTHER")
    answer = http.request("BREW", "/things/1")
    assert answer.status_code == 405
    after = count(UNMATCHED, 405, "OTHER") + count("/things/{thing_id}", 405, "OTHER")
    assert after - before == 1
    assert count("/things/{thing_id}", 405, "BREW") == 0


def test_the_metric_is_served() -> None:
    http = client()
    http.get("/things/1")
    assert 'motcua_http_responses_total{code="200",method="GET",route="/things/{thing_id}"' in (
        http.get("/metrics").text
    )
