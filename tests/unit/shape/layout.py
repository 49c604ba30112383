"""The files every service has, and the names none keeps any more (docs/service-shape.md).

One function, ``shape_problems``, so that the test of the real tree and the test
that plants a broken one apply the same rule.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

SERVICES_DIR = Path(__file__).resolve().parents[3] / "motcua" / "services"

# A module for each role, at the top of the service's package.
REQUIRED_MODULES = (
    "__main__.py",
    "app.py",
    "settings.py",
    "domain.py",
    "errors.py",
    "usecases.py",
    "handlers.py",
    "api.py",
    "pages.py",
)
# Names from before each role had one name, at the top of a service's package; what
# took their place is listed in docs/service-shape.md (bootstrap.py became app.py,
# *_repository.py the repository/ package, ...).
OLD_NAMES = (
    "bootstrap.py",
    "page_kit.py",
    "inputs.py",
    "views.py",
    "reads.py",
    "*_repository.py",
    "command_bus.py",
    "messages.py",
    "stats.py",
    "pace.py",
    "report.py",
)


def service_dirs(services_dir: Path = SERVICES_DIR) -> list[Path]:
    """Every service package under ``services_dir``."""
    return sorted(p.parent for p in services_dir.glob("*/__init__.py"))


def shape_problems(service: Path) -> list[str]:
    """What ``service`` (a service's package folder) lacks or keeps against the shape,
    one line each, starting with the service's name; empty when it has the shape."""
    name = service.name
    problems = [
        f"{name}: {module} is missing"
        for module in REQUIRED_MODULES
        if not (service / module).is_file()
    ]
    if not (service / "schemas.py").is_file() and not (service / "schemas/__init__.py").is_file():
        problems.append(f"{name}: schemas.py (or a schemas/ package) is missing")
    if not (service / "repository/__init__.py").is_file():
        problems.append(f"{name}: the repository/ package is missing")
    if not (service / "migrations").is_dir():
        problems.append(f"{name}: the migrations/ folder is missing")
    problems += [
        f"{name}: {path.name} is an old name (see docs/service-shape.md)"
        for path in sorted(service.glob("*.py"))
        if any(fnmatch(path.name, pattern) for pattern in OLD_NAMES)
    ]
    return problems
