"""Settings of the intake service (environment prefix ``MOTCUA_INTAKE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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

    # ------------------------------------------------- documents (docs/documents.md)
    documents_backend: Literal["postgres", "s3"] = Field(
        default="postgres",
        description="Where document files are stored: in intake's database (chunk rows) "
        "or an S3-compatible object store (the s3_* settings)",
    )
    s3_endpoint: str | None = Field(
        default=None, description="S3 endpoint URL, path-style (e.g. https://s3.example.vn)"
    )
    s3_bucket: str = Field(default="motcua-documents", description="S3 bucket of documents")
    s3_region: str = Field(default="us-east-1", description="S3 region the requests are signed for")
    s3_access_key: SecretStr | None = Field(default=None, description="S3 access key id")
    s3_secret_key: SecretStr | None = Field(default=None, description="S3 secret access key")
    s3_prefix: str = Field(default="documents/", description="Key prefix of document objects")
    max_document_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest document file accepted"
    )
    max_dossier_document_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="Most bytes of documents one dossier may hold (each content counted once)",
    )
    signing_key_dir: Path | None = Field(
        default=None,
        description="Directory of the centers' Ed25519 keys signing results, "
        "<center_id>/<key_id>.pem (PKCS#8); the greatest key id signs, every one is published. "
        "Dev mode makes up a key for a center without one",
    )
    verify_url: str = Field(
        default="http://127.0.0.1:8002/verify",
        description="The public verification page; its address is printed as a QR code on results",
    )

    @property
    def lookup_pepper_key(self) -> bytes:
        return derive_key(self.lookup_pepper.get_secret_value(), "motcua-lookup-pepper")
