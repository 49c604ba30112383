"""What the deployment must agree with, read from the code rather than restated."""

from __future__ import annotations

import ast
import re
import tomllib
from functools import cache
from pathlib import Path

from motcua.devtools.services import ROOT, SERVICES
from motcua.shared.events import topics


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version: str = data["project"]["version"]
    return version


def image() -> str:
    """The image every manifest runs: ``motcua:<project version>``."""
    return f"motcua:{project_version()}"


@cache
def health_paths() -> dict[str, str]:
    """The runtime's liveness and readiness paths, from its own router."""
    from motcua.shared.runtime import ServiceRuntime
    from motcua.shared.settings import ServiceSettings

    runtime = ServiceRuntime("probe", ServiceSettings(), Path("."))
    paths = {getattr(r, "path", "") for r in runtime._health_router().routes}
    assert {"/healthz", "/readyz", "/metrics"} <= paths, paths
    return {"liveness": "/healthz", "readiness": "/readyz", "metrics": "/metrics"}


def partitions() -> dict[str, int]:
    return {s.name: s.partitions for s in topics.STREAMS}


def _stream_names() -> dict[str, str]:
    return {
        name: value.name for name, value in vars(topics).items() if isinstance(value, topics.Stream)
    }


def _stream_in(node: ast.AST, names: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in names:
            found.add(names[sub.id])
        elif isinstance(sub, ast.Attribute) and sub.attr in names:
            found.add(names[sub.attr])
    return found


def consumed_streams(service: str) -> set[str]:
    """Streams a service's code subscribes to: stream constants inside any
    ``.subscribe(...)``/``.subscriber(...)`` call, or given to ``.topic(...)`` in
    handlers.py (where a subscription's topics are usually built)."""
    names = _stream_names()
    found: set[str] = set()
    package = ROOT / "motcua" / "services" / service
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            attr = node.func.attr
            if attr in ("subscribe", "subscriber") or (
                attr == "topic" and path.name == "handlers.py"
            ):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    found |= _stream_in(arg, names)
    return found


def graceful_seconds(service: str) -> float | None:
    """uvicorn's drain timeout as the service's __main__ sets it, if it does (through the
    shared ``serve`` when it calls that)."""
    text = (ROOT / "motcua" / "services" / service / "__main__.py").read_text(encoding="utf-8")
    if re.search(r"\bserve\(", text):
        text = (ROOT / "motcua" / "shared" / "runtime.py").read_text(encoding="utf-8")
    m = re.search(r"timeout_graceful_shutdown\s*=\s*([0-9.]+)", text)
    return float(m[1]) if m else None


def service_names() -> list[str]:
    return list(SERVICES)


# The series a histogram or counter adds to its own name.
METRIC_SUFFIXES = ("_bucket", "_sum", "_count", "_created")


@cache
def defined_metrics() -> frozenset[str]:
    """Names passed to prometheus_client constructors anywhere in the shared code or services."""
    pattern = re.compile(r"\b(?:Counter|Gauge|Histogram|Summary)\(\s*[\"'](motcua_\w+)[\"']")
    found: set[str] = set()
    for package in ("shared", "services"):
        for path in (ROOT / "motcua" / package).rglob("*.py"):
            found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return frozenset(found)


def is_defined_metric(series: str) -> bool:
    """Whether a ``motcua_*`` series name comes from a metric the code defines."""
    base = next((series[: -len(s)] for s in METRIC_SUFFIXES if series.endswith(s)), series)
    return series in defined_metrics() or base in defined_metrics()
