"""Apache Kafka from pinned jars: what a developer is told when Java or the jars are
missing, and what the broker is configured with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from motcua.devtools.embedded import (
    ApacheKafka,
    EmbeddedError,
    java_binary,
    kafka_cluster,
    kafka_home,
    kafka_jars,
    kafka_version,
    new_cluster_id,
)

ROOT = Path(__file__).resolve().parents[3]


def test_the_pinned_kafka_is_the_one_compose_deploys() -> None:
    """Tested on the broker it is deployed on: the Maven pin and the image move together."""
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert f"apache/kafka:{kafka_version()}" in compose


def test_the_jars_are_cached_outside_the_repository_one_folder_a_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MOTCUA_CACHE_DIR", str(tmp_path))
    assert kafka_home() == tmp_path / f"kafka-{kafka_version()}"
    assert not kafka_home().is_relative_to(ROOT)


def test_missing_jars_name_the_command_that_fetches_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MOTCUA_CACHE_DIR", str(tmp_path))
    with pytest.raises(EmbeddedError, match=r"run `make kafka`"):
        kafka_jars(fetch=False)


def test_without_maven_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MOTCUA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn on it
    with pytest.raises(EmbeddedError, match=r"needs Maven: install it"):
        kafka_jars()


def test_without_java_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(EmbeddedError, match=r"needs Java 17 or newer.*install a JDK"):
        java_binary()


def test_an_old_java_is_refused_with_its_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "jdk8" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_402\"' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk8"))
    with pytest.raises(EmbeddedError, match=r"is Java 8"):
        java_binary()


def test_the_cli_says_one_line_and_no_traceback_when_java_is_missing(tmp_path: Path) -> None:
    env = os.environ | {"JAVA_HOME": str(tmp_path / "no-jdk"), "MOTCUA_CACHE_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "motcua.devtools.cli", "kafka", "fetch"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith("motcua kafka: Apache Kafka needs Java 17")


def test_a_cluster_shares_one_id_and_one_voter_list_with_replication_three(
    tmp_path: Path,
) -> None:
    nodes = kafka_cluster(tmp_path)
    props = [n.server_properties() for n in nodes]
    assert len({n.cluster_id for n in nodes}) == 1
    assert len({p["controller.quorum.voters"] for p in props}) == 1
    assert [p["node.id"] for p in props] == ["1", "2", "3"]
    assert all(p["default.replication.factor"] == "3" for p in props)
    assert all(p["min.insync.replicas"] == "2" for p in props)
    assert len({n.port for n in nodes}) == 3


def test_one_node_is_its_own_quorum_with_its_log_under_the_state_dir(tmp_path: Path) -> None:
    node = ApacheKafka(19999, tmp_path / "kafka", controller_port=19998)
    props = node.server_properties()
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19998"
    assert props["log.dirs"] == str((tmp_path / "kafka" / "log").resolve())
    assert props["min.insync.replicas"] == "1"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19999"


def test_cluster_ids_are_kraft_shaped() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 22 and "=" not in i for i in ids)
