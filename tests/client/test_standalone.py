"""The client installs without the server: it imports only the standard library,
httpx, aiokafka and itself (the dependencies its pyproject.toml declares)."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_client_imports_nothing_of_the_server() -> None:
    declared = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]["dependencies"]
    allowed = {d.split(">")[0].split("[")[0].strip() for d in declared} | {"motcua_client"}
    sources = [*(CLIENT / "src").rglob("*.py"), *(CLIENT / "examples").rglob("*.py")]
    assert sources
    for path in sources:
        foreign = imported_roots(path) - allowed - set(sys.stdlib_module_names)
        assert foreign == set(), f"{path.name} imports {sorted(foreign)}"
