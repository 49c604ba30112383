"""Browser tests: Debian's Chromium driven by Playwright against the real services.

The queue, intake and deadlines services run in this process under uvicorn, on one test
database (each in its own schema, as in production) and the test's topics. The queue reaches
its database through a TCP proxy, so a test can take the database away.

Without Chromium at /usr/bin/chromium the tests are skipped, with a reason that says how to
install it; in CI (``CI`` set) a missing browser is a failure, never a silent skip.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from fastapi import FastAPI

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.devtools.embedded import free_port
from motcua.devtools.tcpproxy import TcpProxy, proxied
from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as create_intake
from motcua.services.intake.settings import IntakeSettings
from motcua.services.queue.app import create_app as create_queue
from motcua.services.queue.settings import QueueSettings
from motcua.shared.auth import Role, issue_token
from motcua.shared.settings import DatabaseSettings
from tests.support.serving import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CENTER = "nam-cuong"
SECRET = "browser-test-auth-secret"
CONTACT_KEY = "browser-test-contact-key"


_skipped: list[str] = []


def _missing(message: str) -> NoReturn:
    """Skip visibly on a developer's machine; in CI a missing browser is a failure."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    _skipped.append(message)
    pytest.skip(message, allow_module_level=True)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        _missing(f"Chromium not found at {CHROMIUM}: install it with apt-get install chromium")


def playwright_api() -> Any:
    """``playwright.async_api``, which drives the system's Chromium (no browser download)."""
    try:
        return importlib.import_module("playwright.async_api")
    except ImportError:
        _missing("playwright is not installed: pip install playwright")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say it at the end of even a quiet run: the browser tests did not run."""
    if _skipped:
        terminalreporter.write_sep("!", f"browser tests SKIPPED: {_skipped[0]}", yellow=True)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Any]:
    require_chromium()
    async_api = playwright_api()
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Stack:
    queue: str
    intake: str
    deadlines: str
    database_url: str
    proxy: TcpProxy
    apps: dict[str, FastAPI]

    def token(self, role: Role = "clerk", subject: str = "can-bo-1") -> str:
        return issue_token(SECRET, center_id=CENTER, subject=subject, role=role)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


@pytest.fixture(scope="package")
async def stack(test_servers: Servers, browser: Any) -> AsyncIterator[Stack]:
    """The three services with pages, started once for the package (after the browser, so
    that a machine without Chromium starts nothing)."""
    del browser
    kafka = await fresh_kafka(test_servers)
    ports = {name: free_port() for name in ("queue", "intake", "deadlines")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    async with fresh_database(test_servers) as url, contextlib.AsyncExitStack() as stack:
        proxy, proxied_url = await stack.enter_async_context(proxied(url))

        def db(target: str) -> DatabaseSettings:
            return DatabaseSettings(url=target, pool_min=1, pool_max=5)

        common: dict[str, Any] = {
            "kafka": kafka,
            "log_format": "console",
            "auth_secret": SECRET,
            "contact_key": CONTACT_KEY,
        }
        apps = {
            "queue": create_queue(
                QueueSettings(
                    db=db(proxied_url),
                    intake_url=urls["intake"],
                    cors_origins=[urls["deadlines"]],  # the dashboard reads waiting times
                    **common,
                )
            ),
            "intake": create_intake(
                IntakeSettings(
                    db=db(url),
                    lookup_url=f"{urls['intake']}/lookup",
                    cors_origins=[urls["queue"]],  # the console calls intake from the browser
                    **common,
                )
            ),
            "deadlines": create_deadlines(
                DeadlinesSettings(db=db(url), queue_url=urls["queue"], **common)
            ),
        }
        for name, app in apps.items():
            await stack.enter_async_context(serve(app, ports[name]))
        yield Stack(urls["queue"], urls["intake"], urls["deadlines"], url, proxy, apps)


async def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """A screenshot kept as a test artifact (tests/artifacts is ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"browser-{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


@contextlib.asynccontextmanager
async def browsing(browser: Any, **options: Any) -> AsyncIterator[Any]:
    """A fresh browser context (its own cookies and storage, ``options`` such as the
    viewport), closed at the end."""
    context = await browser.new_context(**options)
    try:
        yield context
    finally:
        await context.close()


def page_errors(page: Any, errors: list[str] | None = None) -> list[str]:
    """Collect a page's script errors and console errors (a CSP violation, say) into
    ``errors`` as they happen."""
    errors = [] if errors is None else errors
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text} at {msg.location.get('url')}")
            if msg.type == "error"
            else None
        ),
    )
    return errors


# Records what the board asks the Web Speech API to say; a headless browser has no voice.
SPEECH_RECORDER = """
window.__spoken = [];
(function () {
  const record = (u) => window.__spoken.push({ text: u.text, lang: u.lang });
  if (!('speechSynthesis' in window)) {
    window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ''; };
    window.speechSynthesis = { speak: record, cancel() {}, getVoices() { return []; } };
    return;
  }
  window.speechSynthesis.speak = record;
  window.speechSynthesis.cancel = function () {};
}());
"""
