"""Publish commands to ``intake.commands``, and hear which were rejected, with aiokafka.

Each message is keyed by its dossier id, as intake expects, so one dossier's commands
stay in order on one partition. ``acks="all"``: a command counts as sent only once
every in-sync replica has it. To retry after an error, send the same
:class:`~motcua_client.commands.Command` again: intake applies its id at most once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from motcua_client.commands import TOPIC, Command

RESULTS_TOPIC = "intake.results"
"""Where intake answers a refused command with ``command.rejected`` (no prefix)."""


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


@dataclass(frozen=True)
class Rejection:
    """A ``command.rejected`` event (docs/events/command.rejected.json): the command
    changed nothing. Fix it and send a new command (a new id)."""

    command_id: str
    command_type: str | None
    dossier_id: uuid.UUID | None
    reason: str


class RejectionWatcher:
    """Reads the rejections on ``intake.results`` from the moment it is entered.

    Enter it before sending, so that no answer can come before it listens. An applied
    command has no answer here (its effect is on the dossier: read it over HTTP). It
    reads without a consumer group, so it needs only Read on the topic.
    """

    def __init__(self, bootstrap_servers: str, *, topic_prefix: str = "", **kafka: Any) -> None:
        self.topic = f"{topic_prefix}{RESULTS_TOPIC}"
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False, **kafka
        )
        self._seen: dict[str, Rejection] = {}

    async def __aenter__(self) -> RejectionWatcher:
        await self._consumer.start()
        await self._consumer.topics()  # loads the metadata that lists the partitions
        partitions = self._consumer.partitions_for_topic(self.topic) or set()
        assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_end(*assigned)
        for tp in assigned:  # resolve "the end" now, not at the first fetch
            await self._consumer.position(tp)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def rejection_of(
        self, commands: Iterable[Command], *, timeout: float
    ) -> Rejection | None:
        """The first rejection of one of ``commands`` to arrive within ``timeout``
        seconds, or ``None``: then none was rejected in that time (a command still
        queued may yet be)."""
        wanted = {str(c.command_id) for c in commands}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := wanted & self._seen.keys()):
            left = deadline - loop.time()
            if left <= 0:
                return None
            batches = await self._consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for records in batches.values():
                for record in records:
                    self._remember(record.value)
        return self._seen[sorted(found)[0]]

    def _remember(self, value: bytes) -> None:
        try:
            event = json.loads(value)
            if event.get("event_type") != "command.rejected":
                return  # consumers ignore what they do not know
            data = event["data"]
            dossier = data.get("dossier_id")
            self._seen[str(data["command_id"])] = Rejection(
                command_id=str(data["command_id"]),
                command_type=data.get("command_type"),
                dossier_id=uuid.UUID(dossier) if dossier else None,
                reason=str(data["reason"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not ours to judge: a malformed record is the producer's to fix
