"""Settings shared by every service, read from the environment (pydantic-settings).

Each service subclasses ``ServiceSettings`` with its own ``MOTCUA_<NAME>_`` prefix.
What every service must agree on (dev mode, keys, retention ...) is read without the
service's name, from ``MOTCUA_<FIELD>`` (``common_env``). Kafka and database settings
are common: ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` are honoured as well as
their ``MOTCUA_`` forms.
"""

from __future__ import annotations

import re
import ssl
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from motcua.shared.crypto import Keyring
from motcua.shared.logging import get_logger

log = get_logger(__name__)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
# Signature algorithms a provider's token may use: public-key ones only. With an HMAC
# algorithm allowed, a token "signed" with the provider's public key as the secret would
# verify (the classic algorithm confusion).
OidcAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]

# A retention horizon shorter than this is refused: it could not outlast a redelivery.
MIN_RETENTION_DAYS = 1.0
# How long published events stay in the outbox journal unless told: as long as Kafka
# keeps a topic by default (7 days) in production; a day in development, where a
# Tansu restart publishes the whole journal again.
JOURNAL_HOURS = 168.0
DEV_JOURNAL_HOURS = 24.0

# The pilot center's name, the default wherever a service prints center names (the
# queue's is in its packaged centers file): one place to change when it changes.
PILOT_CENTER_NAMES = {"nam-cuong": "Trung tâm Phục vụ hành chính công phường Nam Cường"}

# Outside dev mode a secret shorter than this is refused: anything shorter is a
# password someone typed, not 256 random bits.
MIN_SECRET_BYTES = 32
# What a secret looks like when nobody chose it: the development defaults, and the
# placeholders of example files and manifests.
_PLACEHOLDER = re.compile(r"change[-_ ]?me|dev[-_]only|placeholder|example|replace[-_ ]?me", re.I)


class UnsafeSecret(ValueError):
    """A secret kept its development value, a placeholder, or is too short, outside
    dev mode. The message names the environment variable to set."""


def secret_problem(value: str, default: str | None) -> str | None:
    """Why a secret is unfit for production, or ``None``."""
    if default is not None and value == default:
        return "is the public development value"
    if _PLACEHOLDER.search(value):
        return "is a placeholder"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def _env_name(settings: BaseSettings, field: str) -> str:
    """The environment variable a field is read from, as an operator would set it."""
    info = type(settings).model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    prefix = str(settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def unsafe_secrets(settings: BaseSettings) -> list[str]:
    """Every secret field of ``settings`` (and of nested settings) unfit for
    production: one line each, naming its variable and why."""
    found: list[str] = []
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, KafkaSettings):
            found += value.production_problems()
            continue
        if isinstance(value, BaseSettings):
            found += unsafe_secrets(value)
            continue
        default = info.default.get_secret_value() if isinstance(info.default, SecretStr) else None
        values: list[SecretStr] = []
        if isinstance(value, SecretStr):
            values = [value]
        elif isinstance(value, dict | list):
            items = value.values() if isinstance(value, dict) else value
            values = [v for v in items if isinstance(v, SecretStr)]
        for secret in values:
            if (why := secret_problem(secret.get_secret_value(), default)) is not None:
                found.append(f"{_env_name(settings, name)} {why}")
    return found


def common_env(field: str) -> AliasChoices:
    """Read ``field`` from ``MOTCUA_<FIELD>``, one variable every service reads alike,
    rather than from the service's own prefix. The field's name stays a choice so
    that the settings can still be built by keyword."""
    return AliasChoices(f"MOTCUA_{field.upper()}", field)


class MotcuaSettings(BaseSettings):
    """The base of every settings class: a variable it does not know is ignored (all
    four services read one environment, each its own part), and a field can be set
    by its name as well as by its variable. Subclasses add only their ``env_prefix``."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)


class KafkaSettings(MotcuaSettings):
    """How to reach the Kafka cluster, including TLS and SASL/SCRAM."""

    model_config = SettingsConfigDict(env_prefix="MOTCUA_KAFKA_")

    bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("MOTCUA_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list",
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
        description="Longest a consumer's fetch may wait at the broker for new events. "
        "Kafka answers as soon as an event arrives, so its 500 ms default costs no latency "
        "there; the embedded broker answers late within the wait (p50 130 ms at 500 ms, "
        "16 ms at 100 ms), so it gets 100 ms unless this is set. Which broker it is, a "
        "process asks the broker: the embedded one refuses the idempotent producer",
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

    def production_problems(self) -> list[str]:
        """The SASL password is a secret only where SASL is spoken (a PLAINTEXT cluster
        leaves it empty)."""
        return unsafe_secrets(self) if self.security_protocol.startswith("SASL") else []

    def consumer_options(self) -> dict[str, Any]:
        """Consumer group timings, and the fetch wait when it is set. Otherwise the
        service's lifespan sets the wait once it has asked the broker
        (``motcua.shared.bus.kafka.fetch_wait_ms``): building the subscribers does no I/O."""
        options: dict[str, Any] = {
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
        }
        if self.fetch_max_wait_ms is not None:
            options["fetch_max_wait_ms"] = self.fetch_max_wait_ms
        return options

    def fetch_wait_ms(self, *, answers_late: bool) -> int:
        """The fetch wait for a broker that answers a waiting fetch as soon as an event
        comes (Kafka: its 500 ms default costs nothing) or only late within the wait (the
        embedded Tansu broker: 100 ms), unless ``fetch_max_wait_ms`` is set."""
        return self.fetch_max_wait_ms or (100 if answers_late else 500)

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
        (``motcua.shared.bus.kafka.open_producer`` asks it)."""
        return self.client_options() | {
            "acks": "all",
            "enable_idempotence": idempotent,
            "linger_ms": self.linger_ms,
            "max_batch_size": self.max_batch_bytes,
        }


class OidcSettings(MotcuaSettings):
    """The province's OpenID Connect provider, whose access tokens staff pages and APIs
    accept beside motcua's own (``motcua.shared.oidc``; docs/sign-in.md). Unset issuer:
    only motcua's own tokens are accepted."""

    model_config = SettingsConfigDict(env_prefix="MOTCUA_OIDC_")

    issuer: str | None = Field(
        default=None,
        description="The provider's issuer URL, exactly as its tokens name it (discovery is "
        "read from the issuer's /.well-known/openid-configuration); unset: single sign-on is off",
    )
    audience: str = Field(
        default="motcua",
        min_length=1,
        description="The audience (`aud`) a token must name to be accepted",
    )
    client_id: str = Field(
        default="motcua",
        min_length=1,
        description="The client the staff pages sign in as (authorization code with PKCE)",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="The client's secret when the provider registers it as confidential; "
        "unset: a public client (PKCE alone)",
    )
    provider_name: str = Field(
        default="SSO",
        max_length=60,
        description="Shown on the sign-in pages, as in 'Sign in with' this name",
    )
    center_claim: str = Field(
        default="motcua_center",
        min_length=1,
        description="The claim holding the officer's center id (a dotted path reaches into "
        "an object)",
    )
    role_claim: str = Field(
        default="motcua_role",
        min_length=1,
        description="The claim holding the officer's motcua role: a string, or a list such "
        "as realm_access.roles of which exactly one entry is a motcua role",
    )
    centers: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated center ids a token may name, a restriction on top of the "
        "center registry's active centers (which a service following the registry applies "
        "without a restart); empty: the registry's alone (each route still checks the center "
        "it touches is the token's)",
    )
    algorithms: Annotated[tuple[OidcAlgorithm, ...], NoDecode] = Field(
        default=("RS256", "ES256"),
        min_length=1,
        description="Comma-separated signature algorithms accepted; asymmetric only (none and "
        "HS* cannot be set)",
    )
    clock_skew_seconds: int = Field(
        default=60, ge=0, le=300, description="Leeway on a token's exp, nbf and iat"
    )
    jwks_refetch_seconds: float = Field(
        default=30.0,
        ge=1,
        description="Shortest time between two fetches of the key set when a token names a "
        "key it does not hold (a rotation): a flood of made-up key ids costs one fetch",
    )
    jwks_max_age_seconds: float = Field(
        default=3600.0, gt=0, description="A key set older than this is fetched again"
    )
    http_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of each request to the provider"
    )

    @field_validator("issuer", "client_secret", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("centers", "algorithms", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class DatabaseSettings(MotcuaSettings):
    """How to reach PostgreSQL."""

    model_config = SettingsConfigDict(env_prefix="MOTCUA_DB_")

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


class ServiceSettings(MotcuaSettings):
    """What every service has: identity, HTTP binding, logging and its dependencies.
    Each service's subclass sets its ``env_prefix``, ``MOTCUA_<NAME>_``."""

    host: str = Field(
        default="127.0.0.1", description="Address the HTTP server binds (0.0.0.0 in a container)"
    )
    port: int = Field(default=8000, description="HTTP port")
    dev_mode: bool = Field(
        default=False,
        validation_alias=common_env("dev_mode"),
        description="Development mode: `motcua dev`, the tests and the benchmarks turn it on. "
        "Only here may a secret keep its development value or the dev inbox be served",
    )
    log_format: Literal["json", "console"] = Field(
        default="json",
        validation_alias=common_env("log_format"),
        description="Log rendering: one JSON object per line, or human-readable",
    )
    auth_secret: SecretStr = Field(
        default=SecretStr("dev-only-secret-change-me"),
        validation_alias=common_env("auth_secret"),
        description="HMAC key for clerk tokens; set a long random value in production",
    )
    contact_key: SecretStr = Field(
        default=SecretStr("dev-only-contact-key-change-me"),
        validation_alias=common_env("contact_key"),
        description="Key that seals citizen contacts on the bus",
    )
    contact_key_id: str = Field(
        default="k1",
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        validation_alias=common_env("contact_key_id"),
        description="Id of the contact key; new values are sealed under it and carry it",
    )
    contact_old_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        validation_alias=common_env("contact_old_keys"),
        description="Retired contact keys by id (JSON object), still used to open what "
        "was sealed under them; drop one once nothing sealed under it is left",
    )
    token_max_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 7,
        validation_alias=common_env("token_max_hours"),
        description="Longest lifetime of a clerk token; longer ones are refused when "
        "issued and when checked",
    )
    revoked_tokens: list[str] = Field(
        default_factory=list,
        validation_alias=common_env("revoked_tokens"),
        description="Ids of revoked clerk tokens (JSON list; `motcua token` prints a "
        "token's id). Give every service the same list; an id may go once its token "
        "would have expired",
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
        validation_alias=common_env("migrate_on_start"),
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
    purge_after_days: float = Field(
        default=90.0,
        ge=1,
        validation_alias=common_env("purge_after_days"),
        description="Days after a case closes (a dossier resolved, withdrawn or stopped; a "
        "ticket's day) that the personal data kept for it (applicant name, contacts, message "
        "bodies) is erased by the retention sweep (Law 91/2025: kept no longer than needed)",
    )
    outbox_journal_hours: float | None = Field(
        default=None,
        gt=0,
        validation_alias=common_env("outbox_journal_hours"),
        description="Hours a published event stays in the outbox journal, to be published "
        "again when the broker has lost its log or on `motcua outbox replay`; default 168 "
        "(24 in dev mode). Keep it shorter than the retention horizon, or a replayed event "
        "would find no inbox row and be applied twice",
    )
    retention_sweep_seconds: float = Field(
        default=3600.0, gt=0, description="How often rows past the retention horizon are deleted"
    )
    trusted_proxies: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = Field(
        default=(),
        validation_alias=common_env("trusted_proxies"),
        description="Comma-separated addresses or networks of our own reverse proxies (the "
        "Ingress). Only the X-Forwarded-For and X-Forwarded-Proto hops they add are believed; "
        "empty: the headers are ignored",
    )
    max_request_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        validation_alias=common_env("max_request_bytes"),
        description="Largest request body any route accepts (413 beyond it)",
    )
    ops_token: SecretStr | None = Field(
        default=None,
        validation_alias=common_env("ops_token"),
        description="Bearer token for /metrics, /docs, /openapi.json, /asyncapi and the "
        "details of /readyz outside development mode; unset: they are not served",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)

    @property
    def token_max_seconds(self) -> int:
        return int(self.token_max_hours * 3600)

    @property
    def revoked_token_ids(self) -> frozenset[str]:
        return frozenset(self.revoked_tokens)

    def contact_keyring(self, purpose: str) -> Keyring:
        """The contact keys as a ring: the current one seals, every one opens.
        ``purpose`` keeps the bus's sealed values apart from each store's own."""
        keys = {k: v.get_secret_value() for k, v in self.contact_old_keys.items()}
        keys[self.contact_key_id] = self.contact_key.get_secret_value()
        return Keyring(self.contact_key_id, keys, purpose)

    def production_problems(self) -> list[str]:
        """What makes these settings unfit outside dev mode; a service adds its own."""
        return unsafe_secrets(self)

    def check_production(self) -> None:
        """Refuse to run outside dev mode with a secret anyone could know (or whatever
        else ``production_problems`` names). Services call it before they start."""
        if self.dev_mode:
            return
        if problems := self.production_problems():
            raise UnsafeSecret(
                "refusing to start outside dev mode (MOTCUA_DEV_MODE): "
                + "; ".join(problems)
                + ". Give each secret a long random value (e.g. `openssl rand -base64 48`)"
            )

    @field_validator("ops_token", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # Compose passes ${MOTCUA_OPS_TOKEN:-}: empty means "no token", not a weak one.
        return None if value == "" else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):  # "10.0.0.0/8, ::1"; a ValueError names the bad entry
            from motcua.shared.client_address import parse_networks

            return parse_networks(value)
        return value

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

    @property
    def journal_hours(self) -> float:
        """The outbox journal's horizon, with its default for the mode."""
        if self.outbox_journal_hours is not None:
            return self.outbox_journal_hours
        return DEV_JOURNAL_HOURS if self.dev_mode else JOURNAL_HOURS

    @model_validator(mode="after")
    def _journal_within_retention(self) -> ServiceSettings:
        if self.journal_hours >= self.retention_days * 24:
            raise ValueError(
                f"an outbox journal of {self.journal_hours:g} hours reaches past the "
                f"retention horizon ({self.retention_days:g} days): a replayed event older "
                "than its inbox row would be applied twice; shorten "
                "MOTCUA_OUTBOX_JOURNAL_HOURS or lengthen the retention"
            )
        return self
