"""deploy/compose.tls.yaml gives every Kafka client of compose.yaml the TLS files and
the settings that read them (the compose-spec schema is checked in test_validators)."""

from __future__ import annotations

from typing import Any

import yaml

from motcua.devtools.envdocs import collect
from tests.deploy import composefile

TLS = composefile.DEPLOY / "compose.tls.yaml"


def overlay() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TLS.read_text(encoding="utf-8"))
    return data


def kafka_clients() -> set[str]:
    """The services of compose.yaml that talk to Kafka as a client."""
    model = composefile.load(".env.example", environ={"COMPOSE_PROFILES": "ha,monitoring"})
    return {
        name
        for name, svc in model["services"].items()
        if "MOTCUA_KAFKA_SECURITY_PROTOCOL" in (svc.get("environment") or {})
    }


def test_every_kafka_client_gets_the_tls_files_and_settings() -> None:
    services = overlay()["services"]
    assert set(services) == kafka_clients()
    for name, svc in services.items():
        (mount,) = svc["volumes"]
        source, target, mode = mount.split(":")
        assert (source, mode) == ("./tls", "ro"), name
        env = svc["environment"]
        assert env["MOTCUA_KAFKA_SSL_CAFILE"].startswith(target + "/"), name
        assert "SSL" in composefile.interpolate(env["MOTCUA_KAFKA_SECURITY_PROTOCOL"], {})


def test_the_tls_variables_are_the_settings_the_code_reads() -> None:
    known = {n for row in collect() for n in row.names}
    for svc in overlay()["services"].values():
        assert set(svc["environment"]) <= known


def test_the_keys_stay_out_of_git() -> None:
    ignored = (composefile.DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert "tls/" in ignored
