"""The release tier: tests marked ``release`` build the wheel and install it into a fresh
virtualenv (minutes, and packages from the registry), so the default run skips them.
``make test-release`` (``pytest -m release tests/release``) runs them; CI runs it as its
own step."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "release: builds and installs the release artefacts")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "release" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the release tier: run it with `make test-release`")
    for item in items:
        if item.get_closest_marker("release"):
            item.add_marker(skip)
