"""Every service's pages carry the same protective headers (notify's lacked them)."""

from __future__ import annotations

import httpx
import pytest

from motcua.devtools.services import SERVICES

PAGES = [
    ("notify", "/optout/some-token"),
    ("intake", "/lookup"),
    ("deadlines", "/dashboard/sign-in"),
]


@pytest.mark.parametrize(("service", "path"), PAGES)
async def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(
    service: str, path: str
) -> None:
    app = SERVICES[service].create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
