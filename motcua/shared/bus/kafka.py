"""Kafka clients built from settings: the FastStream router, raw producers, topics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.transaction import InitProducerIdRequest
from faststream.kafka.fastapi import KafkaRouter
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from motcua.shared.events.topics import all_topics
from motcua.shared.logging import get_logger
from motcua.shared.settings import KafkaSettings

log = get_logger(__name__)


def faststream_security(settings: KafkaSettings) -> BaseSecurity | None:
    """The FastStream security object equivalent to ``settings``."""
    ctx = settings.ssl_context()
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if not settings.sasl_username or settings.sasl_password is None:
            raise ValueError("SASL needs MOTCUA_KAFKA_SASL_USERNAME and _PASSWORD")
        cls = {
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
            "PLAIN": SASLPlaintext,
        }[settings.sasl_mechanism]
        return cls(
            settings.sasl_username,
            settings.sasl_password.get_secret_value(),
            ssl_context=ctx,
            use_ssl=ctx is not None,
        )
    if ctx is not None:
        return BaseSecurity(ssl_context=ctx, use_ssl=True)
    return None


class ServiceRouter(KafkaRouter):
    """FastStream's Kafka router for a FastAPI app, except that it leaves starting the
    broker (its subscribers and producer) to the app's own lifespan.

    FastStream would start it right after that lifespan and let a broker that is not up
    end the process; ``ServiceRuntime`` starts it itself, and retries with backoff while
    the service answers ``/readyz`` 503."""

    async def _start_broker(self) -> None:
        """Started by the lifespan (``ServiceRuntime._connect_bus``), not here."""


def make_router(settings: KafkaSettings, *, client_id: str, **kwargs: Any) -> KafkaRouter:
    """A FastStream Kafka router for a FastAPI app. Creating it does no I/O, nor does
    entering the app's lifespan start its broker: the lifespan given here must
    (``ServiceRouter``).

    Its producer is used only by tests and for dead letters; the services publish
    through the outbox relay, which asks the broker whether it takes the idempotent
    producer. So this one is built without idempotence, which creating a router cannot
    ask about without I/O."""
    # FastStream takes a string for one server and wraps it whole in a list, so a
    # comma-separated list of brokers must reach it split: aiokafka would get one
    # "host:port,host:port" host and bootstrap from nothing.
    servers = [s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()]
    return ServiceRouter(
        servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=settings.request_timeout_ms,
        security=faststream_security(settings),
        # Our logger, not the colour one FastStream would add to stdout: its lines then
        # reach the one formatter of ``configure_logging`` like every other library's.
        logger=logging.getLogger("faststream.access.kafka"),
        **kwargs,
    )


async def started(producer: AIOKafkaProducer) -> AIOKafkaProducer:
    """Start ``producer``; a start that fails still releases what it had opened."""
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    return producer


# What a broker answered, by bootstrap list: asked once per process.
_GRANTS_PRODUCER_IDS: dict[str, bool] = {}
# Answers that mean "ask again shortly", not "this broker cannot".
_TRANSIENT = (
    kafka_errors.CoordinatorNotAvailableError,
    kafka_errors.CoordinatorLoadInProgressError,
    kafka_errors.NotCoordinatorError,
    kafka_errors.RequestTimedOutError,
)


async def grants_producer_ids(settings: KafkaSettings) -> bool:
    """Does the broker grant an idempotent producer its id? One InitProducerId request,
    answered once per process and bootstrap list; a broker that cannot be reached raises
    (and is asked again next time).

    Apache Kafka grants it; the embedded Tansu broker answers ``UnknownError``. That
    answer is also how a process tells the two apart, so no process has to be told
    which broker it talks to."""
    cached = _GRANTS_PRODUCER_IDS.get(settings.bootstrap_servers)
    if cached is not None:
        return cached
    client = AIOKafkaClient(**settings.client_options())
    try:
        await client.bootstrap()
        error: type[Exception] = kafka_errors.NoError
        for attempt in range(10):
            response = await client.send(
                client.get_random_node(),
                InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000),
            )
            error = kafka_errors.for_code(response.error_code)
            if error not in _TRANSIENT:
                break
            await asyncio.sleep(0.1 * (attempt + 1))
    finally:
        await client.close()
    granted = error is kafka_errors.NoError
    if not granted:
        log.warning(
            "kafka.idempotence_refused",
            bootstrap=settings.bootstrap_servers,
            answer=error.__name__,
            effect="acks=all without idempotence; inboxes absorb a retried batch",
        )
    _GRANTS_PRODUCER_IDS[settings.bootstrap_servers] = granted
    return granted


async def takes_idempotence(settings: KafkaSettings) -> bool:
    """Should our producers be idempotent? The broker says (``grants_producer_ids``)
    unless ``MOTCUA_KAFKA_IDEMPOTENCE`` insists either way.

    A refusal is logged once, as a warning: such a broker may write a retried batch
    twice, which the consumers' inboxes absorb."""
    if settings.idempotence != "auto":
        return settings.idempotence == "on"
    return await grants_producer_ids(settings)


async def fetch_wait_ms(settings: KafkaSettings) -> int:
    """How long our consumers' fetches may wait at this broker for new events.

    ``MOTCUA_KAFKA_FETCH_MAX_WAIT_MS`` when set; otherwise asked of the broker: the one
    that refuses the idempotent producer is the embedded Tansu broker, which answers a
    waiting fetch late, so its consumers wait less (``KafkaSettings.fetch_wait_ms``)."""
    if settings.fetch_max_wait_ms is not None:
        return settings.fetch_max_wait_ms
    return settings.fetch_wait_ms(answers_late=not await grants_producer_ids(settings))


async def open_producer(settings: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """A started aiokafka producer with acks=all, idempotent where the broker allows."""
    idempotent = await takes_idempotence(settings)
    return await started(
        AIOKafkaProducer(**(settings.producer_options(idempotent=idempotent) | overrides))
    )


async def ensure_topics(settings: KafkaSettings, *, replication: int = 1) -> list[str]:
    """Create every registered topic (and its DLQ) that does not exist yet."""
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, partitions, replication)
            for name, partitions in all_topics(settings.topic_prefix)
            if name not in existing
        ]
        if wanted:
            # A concurrent provisioner may win the race; that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        log.info("kafka.topics_ready", created=[t.name for t in wanted])
        return [t.name for t in wanted]
    finally:
        await admin.close()
