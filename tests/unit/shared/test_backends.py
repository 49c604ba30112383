"""How the harness chooses its servers: environment, then Docker, then embedded."""

from __future__ import annotations

import pytest

from motcua.devtools.backends import broker_kind, choose


def never() -> bool:
    raise AssertionError("docker must not be probed when the environment names a server")


def test_environment_wins_without_probing_docker() -> None:
    assert choose({"DATABASE_URL": "postgresql://x/y"}, "DATABASE_URL", never) == "env"


@pytest.mark.parametrize(("docker_up", "expected"), [(True, "docker"), (False, "embedded")])
def test_docker_then_embedded(docker_up: bool, expected: str) -> None:
    assert choose({}, "KAFKA_BOOTSTRAP_SERVERS", lambda: docker_up) == expected


def test_empty_variable_is_unset() -> None:
    assert choose({"DATABASE_URL": ""}, "DATABASE_URL", lambda: False) == "embedded"


def test_docker_can_be_refused_explicitly() -> None:
    env = {"MOTCUA_TEST_NO_DOCKER": "1"}
    assert choose(env, "DATABASE_URL", lambda: True) == "embedded"


def test_choice_is_per_server() -> None:
    env = {"DATABASE_URL": "postgresql://x/y"}
    assert choose(env, "DATABASE_URL", lambda: False) == "env"
    assert choose(env, "KAFKA_BOOTSTRAP_SERVERS", lambda: False) == "embedded"


def test_the_embedded_broker_is_tansu_unless_kafka_is_named() -> None:
    assert broker_kind({}) == "tansu"
    assert broker_kind({"MOTCUA_TEST_BROKER": ""}) == "tansu"
    assert broker_kind({"MOTCUA_TEST_BROKER": "kafka"}) == "kafka"


def test_an_unknown_broker_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="MOTCUA_TEST_BROKER='redpanda'"):
        broker_kind({"MOTCUA_TEST_BROKER": "redpanda"})
