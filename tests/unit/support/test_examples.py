"""The default tier draws a share of a property test's examples; the thorough profile all."""

from __future__ import annotations

import pytest

from tests.support.examples import FLOOR, examples


def test_the_default_tier_draws_a_quarter_never_below_the_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    assert examples(400) == 100
    assert examples(120) == FLOOR
    assert examples(30) == 30  # a count below the floor is kept as it is


def test_the_thorough_profile_draws_every_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorough")
    assert examples(400) == 400
