"""Kafka clients built from settings: the FastStream router, raw producers, topics."""

from __future__ import annotations

import contextlib
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka.fastapi import KafkaRouter
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.events.topics import all_topics
from shared.logging import get_logger
from shared.settings import KafkaSettings

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


def make_router(settings: KafkaSettings, *, client_id: str, **kwargs: Any) -> KafkaRouter:
    """A FastStream Kafka router for a FastAPI app. Creating it does no I/O."""
    producer = settings.producer_options()
    return KafkaRouter(
        settings.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=producer["enable_idempotence"],
        request_timeout_ms=settings.request_timeout_ms,
        security=faststream_security(settings),
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


def make_producer(settings: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """A raw aiokafka producer with acks=all (used by the outbox relay)."""
    return AIOKafkaProducer(**(settings.producer_options() | overrides))


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
