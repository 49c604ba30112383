"""Publish commands to ``intake.commands`` with aiokafka.

Each message is keyed by its dossier id, as intake expects, so one dossier's commands
stay in order on one partition. ``acks="all"``: a command counts as sent only once
every in-sync replica has it. To retry after an error, send the same
:class:`~motcua_client.commands.Command` again: intake applies its id at most once.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from motcua_client.commands import TOPIC, Command


class CommandPublisher:
    """``async with CommandPublisher("broker:9092") as bus: await bus.send(command)``.

    ``topic_prefix`` is the deployment's ``MOTCUA_KAFKA_TOPIC_PREFIX``. Any other
    keyword goes to ``AIOKafkaProducer``: TLS and SASL/SCRAM as the clerk-app user
    (``security_protocol="SASL_SSL"``, ``sasl_mechanism="SCRAM-SHA-512"``,
    ``sasl_plain_username="motcua-clerk-app"``, ...).
    """

    def __init__(self, bootstrap_servers: str, *, topic_prefix: str = "", **kafka: Any) -> None:
        self.topic = f"{topic_prefix}{TOPIC}"
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **kafka)

    async def __aenter__(self) -> CommandPublisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def send(self, command: Command) -> None:
        """Publish ``command`` and wait for the broker's acknowledgement."""
        await self._producer.send_and_wait(self.topic, command.to_bytes(), key=command.key)
