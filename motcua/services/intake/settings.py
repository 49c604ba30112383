"""Settings of the intake service (environment prefix ``MOTCUA_INTAKE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from motcua.shared.crypto import derive_key
from motcua.shared.settings import PILOT_CENTER_NAMES, ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_INTAKE_")

    port: int = 8002
    catalog_file: Path | None = Field(
        default=None,
        description="Procedure catalog JSON (default: the packaged ward-level catalog)",
    )
    statuses_file: Path | None = Field(
        default=None, description="National status list JSON (default: the packaged one)"
    )
    center_codes: dict[str, str] = Field(
        default_factory=lambda: {"nam-cuong": "NC"},
        description="Short code of each center printed in dossier codes (else the center id), "
        "until the center registry configures the center",
    )
    center_names: dict[str, str] = Field(
        default_factory=lambda: dict(PILOT_CENTER_NAMES),
        description="Name of each center printed on receipts, until the center registry "
        "configures the center",
    )
    lookup_url: str = Field(
        default="http://127.0.0.1:8002/lookup",
        description="Where citizens look up a dossier; printed on receipts",
    )
    lookup_rate_per_minute: float = Field(
        default=20.0, gt=0, description="Sustained citizen lookups per client address"
    )
    lookup_burst: int = Field(default=10, ge=1, description="Lookups a client may make at once")
    submit_rate_per_minute: float = Field(
        default=6.0, gt=0, description="Sustained online submissions per client address"
    )
    submit_burst: int = Field(default=5, ge=1, description="Online submissions at once")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8001"],
        description="Browser origins allowed to call the clerk API (the queue's counter "
        "console receives dossiers from there); a JSON list",
    )
    lookup_pepper: SecretStr = Field(
        default=SecretStr("dev-only-lookup-pepper-change-me"),
        description="Server-side key of the stored lookup-secret hashes, so that a dump of "
        "the database alone cannot be cracked offline. Rotating it makes every stored "
        "hash unmatchable: keep it for the life of the dossiers",
    )
    backdate_grace_seconds: int = Field(
        default=300,
        ge=0,
        description="Clock skew tolerated on business times; older times are backdating, "
        "which the HTTP API allows to admin tokens only",
    )

    @property
    def lookup_pepper_key(self) -> bytes:
        return derive_key(self.lookup_pepper.get_secret_value(), "motcua-lookup-pepper")
