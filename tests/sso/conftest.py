"""The sign-in tier: a real OpenID Connect provider (Keycloak, started once for the
tier from the distribution deploy/keycloak/pom.xml pins) in front of the queue and
deadlines services running in this process on the suite's servers.

Keycloak takes 30-120 s to start and needs Java 21+, so the tier runs only with
``make test-sso`` (``MOTCUA_TEST_SSO=1``) and is skipped at collection otherwise. Where
Java 21+ or Maven is missing, the tier is skipped with the reason; in CI it fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.devtools.embedded import EmbeddedError, free_port
from motcua.devtools.keycloak import Keycloak
from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.queue.app import create_app as create_queue
from motcua.services.queue.settings import QueueSettings
from motcua.shared.settings import DatabaseSettings, OidcSettings
from tests.browser.conftest import browser
from tests.support.serving import serve
from tests.support.tiers import skip_unless_tier

__all__ = ["browser"]  # Chromium, as the browser tier drives it (tests/browser)

TIER = "MOTCUA_TEST_SSO"
CENTER = "nam-cuong"
SECRET = "sso-test-auth-secret"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_unless_tier(items, Path(__file__).parent, TIER, "test-sso")


@pytest.fixture(scope="package")
def keycloak() -> Iterator[Keycloak]:
    """One Keycloak for the whole tier, the motcua realm imported."""
    server = Keycloak(log_dir=ARTIFACTS)
    try:
        server.start(timeout=240)
    except EmbeddedError as exc:
        server.stop()
        if os.environ.get("CI"):
            pytest.fail(f"Keycloak could not start: {exc}", pytrace=False)
        pytest.skip(f"Keycloak could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Services:
    queue: str
    deadlines: str
    apps: dict[str, FastAPI]


@pytest.fixture(scope="package")
async def services(test_servers: Servers, keycloak: Keycloak) -> AsyncIterator[Services]:
    """Queue and deadlines trusting the test Keycloak; only nam-cuong is a known center."""
    kafka = await fresh_kafka(test_servers)
    ports = {name: free_port() for name in ("queue", "deadlines")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    oidc = OidcSettings(
        issuer=keycloak.issuer,
        provider_name="Keycloak",
        centers=(CENTER,),
        # A rotation right after the first fetch must not wait the default 30 s.
        jwks_refetch_seconds=1,
    )
    async with fresh_database(test_servers) as url, contextlib.AsyncExitStack() as stack:
        common: dict[str, Any] = {
            "kafka": kafka,
            "log_format": "console",
            "auth_secret": SECRET,
            "oidc": oidc,
            "db": DatabaseSettings(url=url, pool_min=1, pool_max=5),
        }
        apps = {
            "queue": create_queue(QueueSettings(intake_url="http://127.0.0.1:9", **common)),
            "deadlines": create_deadlines(DeadlinesSettings(queue_url=urls["queue"], **common)),
        }
        for name, app in apps.items():
            await stack.enter_async_context(serve(app, ports[name]))
        yield Services(urls["queue"], urls["deadlines"], apps)
