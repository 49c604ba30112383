"""Every service's pages carry the same protective headers (notify's lacked them)."""

from __future__ import annotations

import httpx
import pytest

from motcua.devtools.services import SERVICES
from motcua.shared.web import content_security_policy

# Each page, and whether its service's pages run scripts (their own static files only).
PAGES = [
    ("notify", "/optout/some-token", False),
    ("intake", "/lookup", False),
    ("intake", "/verify", True),  # its file check streams the copy from a script
    ("deadlines", "/dashboard/sign-in", True),
]


@pytest.mark.parametrize(("service", "path", "scripts"), PAGES)
async def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(
    service: str, path: str, scripts: bool
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
    # The kit's policy: nothing inline, so neither 'unsafe-inline' nor a nonce.
    assert r.headers["content-security-policy"] == content_security_policy(scripts=scripts)
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert 'href="/static/kit/motcua.css?v=' in r.text
