"""The environment table: generated from the settings, true to them, and current."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from motcua.devtools import envdocs
from motcua.devtools.services import ROOT, SERVICES
from motcua.shared.settings import ServiceSettings


def _probe_value(annotation: Any, current: Any) -> tuple[str, Any] | None:
    """An env string different from ``current`` and the value it should parse to."""
    members = envdocs._members(annotation)
    for m in members:
        if typing.get_origin(m) is Literal:
            others = [c for c in typing.get_args(m) if c != current]
            return (str(others[0]), others[0]) if others else None
    kinds = {m for m in members if m is not type(None)}
    if kinds == {bool}:
        return ("false", False) if current else ("true", True)
    if kinds == {int}:
        value = current - 1 if isinstance(current, int) and current > 1 else 2
        return str(value), value
    if kinds == {float}:
        return "7.5", 7.5
    if kinds in ({str}, {SecretStr}):
        return "probe-value", "probe-value"
    return None  # a type this probe does not synthesise


def _resolve(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = getattr(obj, part)
    return obj.get_secret_value() if isinstance(obj, SecretStr) else obj


def test_every_documented_name_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set each name alone and watch the field of every service that reads it change."""
    rows = envdocs.collect()
    for row in rows:
        for name in row.names:
            monkeypatch.delenv(name, raising=False)
    probed = 0
    for row in rows:
        for name in row.names:
            for source in row.sources:
                owner: Any = source.cls
                for part in source.path[:-1]:
                    owner = owner.model_fields[part].annotation
                info = owner.model_fields[source.path[-1]]
                default = _resolve(source.cls(), source.path)
                probe = _probe_value(info.annotation, default)
                if probe is None:
                    continue
                with monkeypatch.context() as m:
                    m.setenv(name, probe[0])
                    assert _resolve(source.cls(), source.path) == probe[1], name
                probed += 1
    assert probed >= 4 * 15


def test_core_variables_are_documented() -> None:
    rows = {n: row for row in envdocs.collect() for n in row.names}
    for name in (
        "DATABASE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "MOTCUA_AUTH_SECRET",
        "MOTCUA_CONTACT_KEY",
        "MOTCUA_KAFKA_SECURITY_PROTOCOL",
        "MOTCUA_KAFKA_SASL_USERNAME",
        "MOTCUA_KAFKA_SASL_PASSWORD",
        "MOTCUA_KAFKA_SSL_CAFILE",
    ):
        assert rows[name].services == tuple(SERVICES), name
    for name, info in SERVICES.items():
        row = rows[f"MOTCUA_{name.upper()}_PORT"]
        assert row.services == (name,)
        assert row.default == f"`{info.port}`"


def test_secret_defaults_are_never_printed() -> None:
    table = envdocs.render_env_table()
    defaults = ServiceSettings()
    assert defaults.auth_secret.get_secret_value() not in table
    assert defaults.contact_key.get_secret_value() not in table


def test_aliases_prefixes_and_nested_settings() -> None:
    class Inner(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="X_IN_")
        depth: int = Field(default=3, ge=1, description="How deep")

    class Outer(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="X_OUT_")
        mode: Literal["a", "b"] = "a"
        token: SecretStr = Field(
            default=SecretStr("s"), validation_alias=AliasChoices("X_TOKEN", "token")
        )
        inner: Inner = Field(default_factory=Inner)

    found = {names: info for names, info, _, _ in envdocs._variables(Outer, ())}
    assert set(found) == {("X_OUT_MODE",), ("X_TOKEN",), ("X_IN_DEPTH",)}
    assert envdocs._describe(Outer, "mode", found[("X_OUT_MODE",)]) == "One of `a`, `b`"
    assert envdocs._describe(Inner, "depth", found[("X_IN_DEPTH",)]) == "How deep (>= 1)"
    assert envdocs._default(found[("X_TOKEN",)]) == envdocs.PLACEHOLDER


def test_rewrite_replaces_only_the_marked_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    stale = f"before\n{envdocs.START}\nstale-table\n{envdocs.END}\nafter\n"
    readme.write_text(stale, encoding="utf-8")
    assert envdocs.main(["--readme", str(readme), "--check"]) == 1
    assert envdocs.main(["--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("before\n")
    assert text.endswith("after\n")
    assert "stale-table" not in text
    assert envdocs.render_env_table() in text
    assert envdocs.main(["--readme", str(readme), "--check"]) == 0
    with pytest.raises(ValueError, match="markers"):
        envdocs.rewrite("no markers here", "table")


def test_readme_table_is_current() -> None:
    """Regenerate with ``python -m motcua.devtools.envdocs`` when a settings class changes."""
    text = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    assert envdocs.START in text
    assert envdocs.END in text
    block = text.split(envdocs.START, 1)[1].split(envdocs.END, 1)[0]
    assert block.strip() == envdocs.render_env_table().strip()
