"""Settings of the intake service (environment prefix ``MOTCUA_INTAKE_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_INTAKE_", extra="ignore", populate_by_name=True
    )

    port: int = 8002
