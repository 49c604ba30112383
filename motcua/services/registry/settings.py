"""Settings of the registry service (environment prefix ``MOTCUA_REGISTRY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from motcua.shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_REGISTRY_")

    port: int = 8005
    dir: Path | None = Field(
        default=None,
        description="Folder of the province's center files (one JSON document per center, "
        "docs/registry.md), applied at every start; the packaged Nam Cuong sample when unset",
    )
    load_on_start: bool = Field(
        default=True,
        description="Apply the center files at start (only what changed gets a revision)",
    )
