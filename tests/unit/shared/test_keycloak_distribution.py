"""Keycloak from Maven Central: what a developer is told when Java 21 or Maven is missing,
and the realm the tests (and a province, as an example) import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motcua.devtools import keycloak
from motcua.devtools.embedded import EmbeddedError
from motcua.devtools.keycloak import REALM_FILE, fetch, java_home, keycloak_home, keycloak_version

ROOT = Path(__file__).resolve().parents[3]


def test_the_distribution_is_pinned_and_cached_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    major, minor, *_ = (int(p) for p in keycloak_version().split("."))
    assert (major, minor) >= (26, 4)  # the first 26.x on Maven Central that the brief allows
    monkeypatch.setenv("MOTCUA_CACHE_DIR", str(tmp_path))
    assert keycloak_home() == tmp_path / f"keycloak-{keycloak_version()}"


def test_without_java_21_the_error_names_what_was_found_and_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old = tmp_path / "jdk17"
    (old / "bin").mkdir(parents=True)
    java = old / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"17.0.2\" 2022-01-18' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(old))
    monkeypatch.setattr(keycloak, "JDK_CANDIDATES", ())
    with pytest.raises(EmbeddedError, match=r"Java 21 or newer.*jdk17 \(Java 17\).*JAVA_HOME"):
        java_home()


def test_without_maven_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MOTCUA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn on it
    with pytest.raises(EmbeddedError, match=r"needs Maven: install it.*make keycloak"):
        fetch()


def test_the_realm_gives_motcua_a_pkce_client_its_claims_and_the_dev_users() -> None:
    realm = json.loads(REALM_FILE.read_text())
    clients = {c["clientId"]: c for c in realm["clients"]}
    staff = clients["motcua"]
    assert staff["publicClient"]
    assert not staff["directAccessGrantsEnabled"]  # the password grant is the tests' client
    assert staff["attributes"]["pkce.code.challenge.method"] == "S256"
    mappers = {m["protocolMapper"]: m["config"] for m in staff["protocolMappers"]}
    assert mappers["oidc-audience-mapper"]["included.client.audience"] == "motcua"
    assert mappers["oidc-usermodel-attribute-mapper"]["claim.name"] == "motcua_center"
    assert mappers["oidc-usermodel-realm-role-mapper"]["claim.name"] == "motcua_role"
    assert "oidc-audience-mapper" not in {
        m["protocolMapper"] for m in clients["other-app"].get("protocolMappers", [])
    }
    users = {u["username"]: u for u in realm["users"]}
    assert users["dev-clerk"]["realmRoles"] == ["clerk"]
    assert users["dev-leader"]["realmRoles"] == ["leader"]
    assert users["dev-leader"]["groups"] == ["/nam-cuong"]


def test_motcua_keycloak_check_says_what_is_missing_and_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing"))
    monkeypatch.setattr(keycloak, "JDK_CANDIDATES", ())
    assert keycloak.keycloak_command("check") == 1
    assert "motcua keycloak: Keycloak" in capsys.readouterr().err
