"""Where the services live, by name. Launchers use this; services never do."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int

    @property
    def package(self) -> str:
        return f"motcua.services.{self.name}"

    @property
    def migrations(self) -> Path:
        return ROOT / "motcua" / "services" / self.name / "migrations"

    def create_app(self, **kwargs: Any) -> Any:
        return importlib.import_module(f"{self.package}.app").create_app(**kwargs)


async def answers_ready(url: str, timeout: float = 2.0) -> bool:
    """Does the process at ``url`` answer ``/readyz`` with 200 now? No answer is a no."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


SERVICES: dict[str, ServiceInfo] = {
    s.name: s
    for s in (
        ServiceInfo("queue", 8001),
        ServiceInfo("intake", 8002),
        ServiceInfo("deadlines", 8003),
        ServiceInfo("notify", 8004),
        ServiceInfo("registry", 8005),
    )
}
