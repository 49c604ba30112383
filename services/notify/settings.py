"""Settings of the notify service (environment prefix ``MOTCUA_NOTIFY_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_NOTIFY_", extra="ignore", populate_by_name=True
    )

    port: int = 8004
