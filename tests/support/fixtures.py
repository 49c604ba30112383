"""Fixture factories: a fresh database or topic prefix shared by the tests of one module
or package (one running service each), declared in a line by each conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.shared.settings import KafkaSettings

Scope = Literal["module", "package", "session"]


def database_fixture(scope: Scope, doc: str = "") -> Any:
    """A fixture yielding the URL of a new, empty database, dropped when ``scope`` ends."""

    @pytest.fixture(scope=scope)
    async def database(test_servers: Servers) -> AsyncIterator[str]:
        async with fresh_database(test_servers) as url:
            yield url

    database.__doc__ = doc or database_fixture.__doc__
    return database


def kafka_fixture(scope: Scope, *, quick_join: bool = True) -> Any:
    """A fixture giving Kafka settings with a topic prefix of their own for ``scope``;
    ``quick_join`` as in ``fresh_kafka``."""

    @pytest.fixture(scope=scope)
    async def kafka(test_servers: Servers) -> KafkaSettings:
        return await fresh_kafka(test_servers, quick_join=quick_join)

    return kafka
