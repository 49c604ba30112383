"""The bus epoch: does the broker still hold what the relays published to it?

The embedded Tansu broker keeps its log in memory, and a Kafka cluster can be lost
and rebuilt; either way the broker answers as before (Tansu's cluster id is always
``tansu_cluster``) while every event it held is gone. So the bus carries a marker
of its own: an empty topic named ``<prefix>motcua.bus-epoch.<id>``. Its name is the
epoch. Whoever finds no such topic creates one with a fresh id; if several relays
race, each sees every marker created and all take the smallest name, so they agree.
Reading it is one metadata request: no record is ever written or fetched, so no
broker's quirks on a partition's offsets matter, and a topic deleted with the others
reads as the loss it is.

A relay stores the epoch it last published under (in its schema's ``outbox_relay``
row). When the broker names another one, the broker lost its log since, and the
relay publishes its journal again (``motcua.shared.bus.outbox``).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from motcua.shared.logging import get_logger
from motcua.shared.settings import KafkaSettings

log = get_logger(__name__)

STEM = "motcua.bus-epoch."


class EpochUnknown(RuntimeError):
    """The broker's epoch could not be read (its marker did not appear)."""


@dataclass(frozen=True)
class Epoch:
    id: str
    seen_at: float  # when this process first saw it, in seconds since 1970 (UTC)


class EpochMarker:
    """Reads (and, on a bus without one, creates) the broker's epoch marker. One per
    relay; it keeps an admin client open between checks and drops it after a failure."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.stem = settings.topic_prefix + STEM
        self._admin: AIOKafkaAdminClient | None = None
        self._seen: dict[str, float] = {}

    async def read(self) -> Epoch:
        """The broker's epoch; on a bus without a marker, create one first."""
        try:
            admin = await self._open()
            names = await self._markers(admin)
            if not names:
                fresh = self.stem + uuid.uuid4().hex
                brokers = len((await admin.describe_cluster())["brokers"])
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics([NewTopic(fresh, 1, max(1, min(3, brokers)))])
                names = await self._markers(admin)
                if fresh in names:
                    log.info("bus.epoch_started", marker=fresh)
            if not names:
                raise EpochUnknown(f"no {self.stem}* topic after creating one")
            epoch = min(names)[len(self.stem) :]
            return Epoch(epoch, self._seen.setdefault(epoch, time.time()))
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            with contextlib.suppress(Exception):  # a dead broker may refuse the goodbye
                await admin.close()

    async def _open(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(**self.settings.client_options())
            try:
                await admin.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await admin.close()
                raise
            self._admin = admin
        return self._admin

    async def _markers(self, admin: AIOKafkaAdminClient) -> list[str]:
        return [t for t in await admin.list_topics() if t.startswith(self.stem)]
