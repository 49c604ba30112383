"""Settings of the queue service (environment prefix ``MOTCUA_QUEUE_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class QueueSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_QUEUE_", extra="ignore", populate_by_name=True
    )

    port: int = 8001
