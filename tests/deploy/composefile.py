"""Read deploy/compose.yaml as Docker Compose would: env files, interpolation, profiles."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from motcua.devtools.services import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class Unset(LookupError):
    """A ``${VAR:?message}`` whose variable is missing."""


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def interpolate(value: str, env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        op, arg = m["op"], m["arg"] or ""
        present = name in env
        filled = present and env[name] != ""
        if op == ":-":
            return env[name] if filled else arg
        if op == "-":
            return env[name] if present else arg
        if op == ":?":
            if not filled:
                raise Unset(f"{name}: {arg}")
            return env[name]
        if op == "?":
            if not present:
                raise Unset(f"{name}: {arg}")
            return env[name]
        return env.get(name, "")

    return _VAR.sub(sub, value)


def _walk(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_walk(n, env) for n in node]
    if isinstance(node, dict):
        return {k: _walk(v, env) for k, v in node.items()}
    return node


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def load(*env_files: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose model after interpolation, with only the active profiles' services."""
    env: dict[str, str] = {}
    for name in env_files:
        env |= read_env_file(DEPLOY / name)
    env |= dict(environ or {})
    model: dict[str, Any] = _walk(raw(), env)
    active = {p for p in env.get("COMPOSE_PROFILES", "").split(",") if p}
    model["services"] = {
        name: svc
        for name, svc in model["services"].items()
        if not svc.get("profiles") or active & set(svc["profiles"])
    }
    model["x-active-profiles"] = sorted(active)
    return model
