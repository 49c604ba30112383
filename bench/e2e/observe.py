"""Observers of the ends of each stage: the display boards' streams, the deadline
topic and the SMS gateway, each noting when it saw what."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer

from bench.e2e.knobs import CENTERS, TZ
from bench.http_load import HttpLoad
from motcua.devtools.sinks import HttpSink


def local_day(at: str) -> str:
    """Ticket numbers start again each local day."""
    return datetime.fromisoformat(at).astimezone(TZ).date().isoformat()


@dataclass
class Display:
    """Reads every center's display board stream; notes when each ticket number shows."""

    queue_url: str
    seen: dict[tuple[str, str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    resyncs: int = 0

    async def run(self) -> None:
        async with HttpLoad(self.queue_url, connections=len(CENTERS)) as http:
            await asyncio.gather(*(self._board(http, center) for center in CENTERS))

    async def _board(self, http: HttpLoad, center: str) -> None:
        while True:  # the server ends a stream after its max age; reconnect
            first = True
            async for event, d in http.events(f"/centers/{center}/display/stream"):
                if event == "ticket.issued":
                    key = (center, d["line_code"], d["number"], local_day(d["at"]))
                    self.seen[key].append(time.time())
                elif event == "snapshot":
                    # After the first, a resync: the stream skipped changes.
                    self.resyncs += 0 if first else 1
                    first = False


@dataclass
class DeadlineTopic:
    """Reads the deadline topic from its start; notes each dossier's ``deadline.set``."""

    bootstrap: str
    topic: str
    seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.bootstrap, group_id=None,
            auto_offset_reset="earliest", enable_auto_commit=False,
            fetch_max_wait_ms=50,  # not to add its own wait at the broker to what it times
        )  # fmt: skip
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=2000)
                now = time.time()
                for records in batch.values():
                    for r in records:
                        event = json.loads(r.value or b"{}")
                        if event.get("event_type") == "deadline.set":
                            self.seen[event["data"]["dossier_id"]].append(now)
        finally:
            await consumer.stop()


def last_digits(address: str) -> str:
    return re.sub(r"\D", "", address)[-9:]


@dataclass
class Sms:
    """Index of what the gateway sink received, by recipient."""

    sink: HttpSink
    seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[str, set[str | None]] = field(default_factory=lambda: defaultdict(set))
    _done: int = 0

    def refresh(self) -> None:
        new = self.sink.accepted[self._done :]
        self._done += len(new)
        for m in new:
            self.seen[last_digits(m.to)].append(m.received_at)
            self.keys[last_digits(m.to)].add(m.key)
