"""``make bench`` runs every module in its list; each must at least load and offer ``run``."""

from __future__ import annotations

import importlib
import inspect

import pytest

from bench.__main__ import ORDER


@pytest.mark.parametrize("name", ORDER)
def test_the_benchmark_loads_and_has_a_run_coroutine(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert inspect.iscoroutinefunction(module.run)
