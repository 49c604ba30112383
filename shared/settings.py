"""Settings shared by every service, read from the environment (pydantic-settings).

Each service subclasses ``ServiceSettings`` with its own ``MOTCUA_<NAME>_`` prefix.
Kafka and database settings are common: ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL`` are honoured as well as their ``MOTCUA_`` forms.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.logging import get_logger

log = get_logger(__name__)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]

# A retention horizon shorter than this is refused: it could not outlast a redelivery.
MIN_RETENTION_DAYS = 1.0


class KafkaSettings(BaseSettings):
    """How to reach the Kafka cluster, including TLS and SASL/SCRAM."""

    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_KAFKA_", extra="ignore", populate_by_name=True
    )

    bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("MOTCUA_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list",
    )
    embedded: bool = Field(
        default=False,
        description="The broker answers a waiting fetch late (the embedded Tansu one does); "
        "consumers wait 100 ms at either kind (see the fetch wait), and whether it takes the "
        "idempotent producer is asked of the broker itself",
    )
    idempotence: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="The idempotent producer: auto asks the broker once per process whether "
        "it grants a producer id (Apache Kafka does; the embedded Tansu broker refuses), on "
        "insists, off never asks",
    )
    topic_prefix: str = Field(default="", description="Prefix of every topic name")
    security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="How clients talk to the brokers: TLS and/or SASL"
    )
    sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*"
    )
    sasl_username: str | None = Field(default=None, description="SASL user (SASL_* protocols)")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (SASL_* protocols)"
    )
    ssl_cafile: str | None = Field(default=None, description="CA bundle to verify the brokers")
    ssl_certfile: str | None = Field(default=None, description="Client certificate (mutual TLS)")
    ssl_keyfile: str | None = Field(default=None, description="Client key (mutual TLS)")
    request_timeout_ms: int = Field(
        default=15_000, description="Kafka client request timeout, in milliseconds"
    )
    session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="Consumer group session timeout"
    )
    heartbeat_interval_ms: int = Field(
        default=3_000, ge=100, description="Consumer heartbeat interval (a third of the session)"
    )
    fetch_max_wait_ms: int | None = Field(
        default=None,
        ge=1,
        le=60_000,
        description="Longest a consumer's fetch may wait at the broker for new events; "
        "100 ms unless set. The embedded broker answers late within the wait (p50 130 ms "
        "at 500 ms, 16 ms at 100 ms). Apache Kafka answers as soon as an event arrives, yet "
        "aiokafka keeps one fetch in flight per broker and leaves out of it the partitions "
        "whose records it still holds: an event on such a partition waits for that fetch "
        "to end, up to the whole wait",
    )

    # The outbox relay hands its producer a whole batch of rows before it yields, then
    # waits for every ack before it reads the next: a linger only delays that batch, and
    # since aiokafka keeps one request in flight per broker and sends one batch per
    # partition in it, 16 KiB batches (its default) split one relay batch of 500 events
    # (about 17 KiB per partition of a 12-partition topic) into round trips one after
    # another. On Apache Kafka, in one A/B on a busy machine: commit -> publish at 200
    # one-event tx/s, p50 12 -> 6 ms and p99 78 -> 32 ms.
    linger_ms: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="How long the outbox relay's producer holds a partition's batch for more "
        "records before sending it",
    )
    max_batch_bytes: int = Field(
        default=262_144,
        ge=1024,
        le=1_048_576,
        description="Largest batch of records the relay's producer sends to one partition in "
        "one request: room for a whole relay batch, so that it goes in one request",
    )

    def consumer_options(self) -> dict[str, Any]:
        """Consumer group timings, and the fetch wait that suits the broker."""
        # Short on Kafka too: see the field's description (one event on a busy partition,
        # p50 62 ms at 500 ms, 9 ms at 100 ms; an idle consumer's fetches cost the broker
        # 10 requests/s instead of 2).
        fetch_wait = self.fetch_max_wait_ms or 100
        return {
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "fetch_max_wait_ms": fetch_wait,
        }

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.security_protocol not in ("SSL", "SASL_SSL"):
            return None
        ctx = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.ssl_certfile:
            ctx.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return ctx

    def client_options(self) -> dict[str, Any]:
        """aiokafka keyword arguments for security; shared by every client we build."""
        opts: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError("SASL needs MOTCUA_KAFKA_SASL_USERNAME and _PASSWORD")
            opts |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        if (ctx := self.ssl_context()) is not None:
            opts["ssl_context"] = ctx
        return opts

    def producer_options(self, *, idempotent: bool) -> dict[str, Any]:
        """Producer settings: acks=all always; idempotence where the broker grants it
        (``shared.bus.kafka.open_producer`` asks it)."""
        return self.client_options() | {
            "acks": "all",
            "enable_idempotence": idempotent,
            "linger_ms": self.linger_ms,
            "max_batch_size": self.max_batch_bytes,
        }


class DatabaseSettings(BaseSettings):
    """How to reach PostgreSQL."""

    model_config = SettingsConfigDict(
        env_prefix="MOTCUA_DB_", extra="ignore", populate_by_name=True
    )

    url: str = Field(
        default="postgresql://postgres@127.0.0.1:15432/motcua",
        validation_alias=AliasChoices("MOTCUA_DB_URL", "DATABASE_URL"),
        description="PostgreSQL connection URL (libpq form)",
    )
    pool_min: int = Field(default=1, ge=0, description="Connections each process keeps open")
    pool_max: int = Field(default=10, ge=1, description="Most connections each process opens")
    command_timeout: float = Field(
        default=30.0, gt=0, description="Seconds before a single SQL statement is abandoned"
    )


class ServiceSettings(BaseSettings):
    """What every service has: identity, HTTP binding, logging and its dependencies."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field(
        default="127.0.0.1", description="Address the HTTP server binds (0.0.0.0 in a container)"
    )
    port: int = Field(default=8000, description="HTTP port")
    dev_mode: bool = Field(
        default=False,
        validation_alias=AliasChoices("MOTCUA_DEV_MODE", "dev_mode"),
        description="Development mode: `motcua dev`, the tests and the benchmarks turn it on. "
        "Only here may a secret keep its development value or the dev inbox be served",
    )
    log_format: Literal["json", "console"] = Field(
        default="json",
        validation_alias=AliasChoices("MOTCUA_LOG_FORMAT", "log_format"),
        description="Log rendering: one JSON object per line, or human-readable",
    )
    auth_secret: SecretStr = Field(
        default=SecretStr("dev-only-secret-change-me"),
        validation_alias=AliasChoices("MOTCUA_AUTH_SECRET", "auth_secret"),
        description="HMAC key for clerk tokens; set a long random value in production",
    )
    contact_key: SecretStr = Field(
        default=SecretStr("dev-only-contact-key-change-me"),
        validation_alias=AliasChoices("MOTCUA_CONTACT_KEY", "contact_key"),
        description="Key that seals citizen contacts on the bus",
    )
    consumer_batch: int = Field(
        default=500, ge=1, le=10_000, description="Most events applied in one consumer transaction"
    )
    outbox_batch: int = Field(
        default=500, ge=1, le=10_000, description="Most outbox rows the relay publishes per round"
    )
    metrics_sample_seconds: float = Field(
        default=15.0, gt=0, description="How often gauges read from the database are refreshed"
    )
    migrate_on_start: bool = Field(
        default=True,
        validation_alias=AliasChoices("MOTCUA_MIGRATE_ON_START", "migrate_on_start"),
        description="Apply migrations at start-up; false lets the service run with a role "
        "that cannot change schemas (run `motcua migrate` as a separate step)",
    )
    retention_days: float = Field(
        default=30.0,
        description="Days an applied event's id (the inbox) and a processed command's key "
        "are kept, so that a redelivered copy is refused. Keep it longer than the broker "
        "keeps its topics (Kafka's default is 7 days) and than any replay from a dead-letter "
        "topic, or a replayed old event is applied twice (>= 1)",
    )
    retention_sweep_seconds: float = Field(
        default=3600.0, gt=0, description="How often rows past the retention horizon are deleted"
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)

    @field_validator("retention_days")
    @classmethod
    def _outlasts_redelivery(cls, days: float) -> float:
        if days < MIN_RETENTION_DAYS:
            raise ValueError(
                f"a retention horizon of {days} days is under the minimum of "
                f"{MIN_RETENTION_DAYS:g} day: an event redelivered after its inbox row is deleted "
                "would be applied twice; keep it longer than the topics' retention"
            )
        return days
