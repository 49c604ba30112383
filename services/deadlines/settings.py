"""Settings of the deadlines service (environment prefix ``MOTCUA_DEADLINES_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class DeadlinesSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_DEADLINES_", extra="ignore", populate_by_name=True
    )

    port: int = 8003
