"""Outside development, the operations endpoints are not for the internet."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from motcua.services.intake.app import create_app
from motcua.services.intake.settings import IntakeSettings

OPS = secrets.token_urlsafe(32)
# /asyncapi is guarded the same way, but FastStream mounts it in the lifespan only.
PATHS = ["/docs", "/openapi.json", "/redoc", "/metrics"]


def _client(peer: str = "203.0.113.7", **settings: Any) -> httpx.AsyncClient:
    # Strong values for every secret: a production-mode process refuses weak ones.
    strong = {k: secrets.token_urlsafe(48) for k in ("auth_secret", "contact_key", "lookup_pepper")}
    app = create_app(IntakeSettings(**strong, **settings))
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://intake.test")


@pytest.mark.parametrize("path", PATHS)
async def test_outside_development_they_need_the_ops_token(path: str) -> None:
    async with _client(dev_mode=False, ops_token=OPS) as client:
        assert (await client.get(path)).status_code == 404
        wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 404
        ok = await client.get(path, headers={"Authorization": f"Bearer {OPS}"})
        assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("path", PATHS)
async def test_in_development_they_are_open(path: str) -> None:
    async with _client(dev_mode=True) as client:
        assert (await client.get(path)).status_code == 200


async def test_behind_proxies_a_direct_request_is_internal_and_a_proxied_one_is_not() -> None:
    async with _client(peer="10.1.2.3", dev_mode=False, trusted_proxies="10.0.0.0/8") as client:
        assert (await client.get("/metrics")).status_code == 200  # Prometheus, in-cluster
        via_ingress = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
        assert via_ingress.status_code == 404


def test_an_empty_ops_token_is_no_token() -> None:
    assert IntakeSettings(ops_token="").ops_token is None


async def test_readyz_answers_probes_but_keeps_its_reasons_for_operators() -> None:
    async with _client(dev_mode=False, ops_token=OPS) as client:
        public = await client.get("/readyz")
        assert set(public.json()) == {"ready"}
        detailed = await client.get("/readyz", headers={"Authorization": f"Bearer {OPS}"})
        assert "checks" in detailed.json()
