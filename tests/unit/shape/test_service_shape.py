"""Every service has the files of docs/service-shape.md and none of the old names."""

from __future__ import annotations

import pytest

from tests.unit.shape.layout import SERVICES_DIR, service_dirs, shape_problems

SERVICES = ("deadlines", "intake", "notify", "queue", "registry")


def test_the_four_services_are_found() -> None:
    # Guards the test below: a wrong path would find no service and pass.
    assert tuple(p.name for p in service_dirs()) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_the_common_shape(service: str) -> None:
    problems = shape_problems(SERVICES_DIR / service)
    assert not problems, "\n".join(problems)
