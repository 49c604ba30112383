"""The transactional outbox and its relay.

``add(conn, event)`` inserts the event in the caller's transaction: the state
change and the event commit or roll back together (no dual writes).

``OutboxRelay`` publishes committed rows to Kafka with acks=all. Ordering:
rows are read in ``id`` order (commit order for one key, since one aggregate's
writes serialise on its row) and handed to one producer in that order; the
producer keeps one in-flight batch per partition and every key maps to one
partition, so each key's events reach the broker in order. Rows leave the outbox
only after the whole batch is acknowledged, and then for the journal
(``motcua.shared.bus.journal``), kept a bounded time to be published again; on any error
nothing moves and the batch is sent again after a backoff, so delivery is
at-least-once and consumers dedupe through their inbox. Only one relay per schema
publishes at a time (a PostgreSQL advisory lock), so scaling a service out never
interleaves two relays' batches.

Waking the relay. A ``NOTIFY`` makes its transaction take a database-wide lock
for the whole of its commit, so writers that notify commit one at a time; a
notification on every write would cost busy services most of their commit
throughput. Writers therefore notify only while the relay sleeps:

* While awake, the relay polls every ``busy_interval``, and it stays awake until
  it has found nothing for ``linger`` seconds. Writers are silent.
* To fall asleep it takes the *asleep* lock, an advisory lock on the outbox
  table's identity, with a try that fails while any writer holds it shared. It
  then looks once more for rows and sleeps (``poll_interval`` at most) only if
  there are none; otherwise it lets go of the lock and stays awake.
* In the statement that inserts its rows, a writer tries that lock in shared
  mode. Refused, the relay sleeps: the writer notifies, and the notification is
  delivered at its commit. Granted, the writer holds it until its transaction
  ends, so the relay cannot fall asleep before the rows are committed (or rolled
  back) and its last look finds them.

So no committed row waits for the relay's timeout, and under load, when the
relay is awake, no writer notifies.

A broker that lost its log. Before a batch, whenever the last check or successful
publish is older than ``check_ttl``, a send failed, the acknowledged offsets of a
partition went back, or an operator asked for a replay, the relay *reconciles*: it
reads the broker's bus epoch (``motcua.shared.bus.epoch``) and, if it differs from the one
stored in its schema, publishes the whole journal again in id order before any outbox
row, so a new batch never reaches a reset broker ahead of the events before it. A
replay after a new epoch starts ``replay_grace`` after the relay first saw it: a
consumer still fetching at its position in the lost log gets nothing from the new,
empty one, and within that grace it notices that its group is gone and starts again
from the earliest offset; a record written sooner could land below that stale
position and be skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter as Metric

from motcua.shared.bus import journal
from motcua.shared.bus.epoch import EpochMarker
from motcua.shared.db import session
from motcua.shared.events.envelope import MAX_EVENT_BYTES, Envelope
from motcua.shared.events.topics import key_of, stream_of
from motcua.shared.logging import get_logger
from motcua.shared.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, PUBLISHED

log = get_logger(__name__)

REPLAYED = Metric(
    "motcua_outbox_replayed_total",
    "Journal rows published again (a broker that lost its log, or an operator's replay)",
    ["schema"],
)

# The relay holds this lock while it sleeps; writers try it in shared mode. The
# two-key form keeps it apart from the single-key leader lock; the table's oid
# makes it one lock per schema's outbox.
_ASLEEP = "'outbox'::regclass::oid::int, 0"

# One round trip for any number of events: the rows go in as arrays, and the
# notification that wakes a sleeping relay (delivered at commit) rides in the
# same statement.
_INSERT = f"""
    WITH added AS (
        INSERT INTO outbox (event_id, topic, key, event_type, payload)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[])
        RETURNING 1
    )
    SELECT pg_notify(current_schema() || '_outbox', '')
    FROM (SELECT FROM added LIMIT 1) AS one
    WHERE NOT pg_try_advisory_xact_lock_shared({_ASLEEP})
"""


def _row(event: Envelope[Any]) -> tuple[Any, ...]:
    payload = event.to_bytes()
    if len(payload) > MAX_EVENT_BYTES:
        raise ValueError(f"{event.event_type} is {len(payload)} bytes; limit {MAX_EVENT_BYTES}")
    return (
        event.event_id,
        stream_of(event.event_type).name,
        key_of(event),
        event.event_type,
        payload,
    )


async def add(conn: asyncpg.Connection, *events: Envelope[Any]) -> None:
    """Record events for publication inside the caller's open transaction."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.add must run inside the transaction of the state change")
    if not events:
        return
    columns = list(zip(*(_row(e) for e in events), strict=True))
    await conn.execute(_INSERT, *columns)


class OutboxRelay:
    """Publishes one schema's outbox to Kafka; run it as a background task."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        producer_factory: Callable[[], Awaitable[AIOKafkaProducer]],
        *,
        topic_prefix: str = "",
        batch_size: int = 500,
        poll_interval: float = 1.0,
        busy_interval: float = 0.005,
        linger: float = 0.025,
        max_backoff: float = 5.0,
        epoch: EpochMarker | None = None,
        check_ttl: float = 1.0,
        replay_grace: float = 7.0,
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.producer_factory = producer_factory
        self.topic_prefix = topic_prefix
        self.batch_size = batch_size
        self.poll_interval = poll_interval  # longest sleep; also a standby's retry
        self.busy_interval = busy_interval  # between polls while awake
        self.linger = linger  # awake this long after the last row found
        self.max_backoff = max_backoff
        self.epoch = epoch  # None: no epoch checks (replays only on request)
        self.check_ttl = check_ttl
        self.replay_grace = replay_grace
        self.published = 0
        self.replayed = 0
        self.last_error: str | None = None
        self.is_leader = False
        self.healthy = True
        self._wake = asyncio.Event()
        self._stopping = False
        self._asleep = False  # we hold the asleep lock
        self._producer: AIOKafkaProducer | None = None
        self._check_now = True  # reconcile before the next batch
        self._checked_at = 0.0  # monotonic time of the last check or successful publish
        self._acked: dict[tuple[str, int], int] = {}  # last acknowledged offset per partition

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"outbox:{self.schema}".encode())

    async def run(self) -> None:
        """Lead when the advisory lock is ours; publish until stopped."""
        backoff = 0.1
        while not self._stopping:
            try:
                async with session(self.pool) as conn:
                    await self._lead(conn)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.healthy = False
                self.last_error = repr(exc)
                log.warning("outbox.relay_error", schema=self.schema, error=repr(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        await self._close_producer()
        if self.epoch is not None:
            await self.epoch.close()

    async def stop(self) -> None:
        """Stop after the current batch; pending rows stay for the next leader."""
        self._stopping = True
        self._wake.set()

    async def _lead(self, conn: asyncpg.Connection) -> None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
            self.is_leader = False
            self.healthy = True  # standing by is healthy
            if self._stopping:
                return
            await self._sleep(self.poll_interval * 2)
        self.is_leader = True
        self._asleep = False  # a new session holds no lock of ours
        self._check_now = True  # a new leader knows nothing of the broker yet
        self._acked.clear()
        channel = f"{self.schema}_outbox"
        await conn.add_listener(channel, self._on_notify)
        await conn.add_listener(f"{channel}_replay", self._on_replay_request)
        try:
            backoff = 0.1
            last_found = time.monotonic()
            while not self._stopping:
                try:
                    sent = await self.publish_once(conn)
                    backoff = 0.1
                    self.healthy = True
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    raise  # our connection is gone: re-acquire and re-lead
                except Exception as exc:
                    self.healthy = False
                    self.last_error = repr(exc)
                    log.warning("outbox.publish_failed", schema=self.schema, error=repr(exc))
                    self._check_now = True  # the broker may have come back empty
                    await self._close_producer()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                now = time.monotonic()
                if sent:
                    last_found = now
                if sent == self.batch_size:
                    continue
                if now - last_found < self.linger or not await self._fall_asleep(conn):
                    await self._sleep(self.busy_interval)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                await self._wake_up(conn)
                if self._wake.is_set():  # a writer woke us: more may follow, stay up a while
                    last_found = time.monotonic()
        finally:
            self.is_leader = False
            if not conn.is_closed():
                await conn.remove_listener(channel, self._on_notify)
                await conn.remove_listener(f"{channel}_replay", self._on_replay_request)
                await self._wake_up(conn)
                await conn.execute("SELECT pg_advisory_unlock($1)", self.lock_key)

    async def _fall_asleep(self, conn: asyncpg.Connection) -> bool:
        """Take the asleep lock if no writer that saw us awake is still in flight, then
        make sure that nothing they wrote is waiting; True if we may sleep."""
        self._wake.clear()  # from here on, a notification is one we must not miss
        if self._stopping or not await conn.fetchval(f"SELECT pg_try_advisory_lock({_ASLEEP})"):
            return False
        self._asleep = True
        # A statement of its own: its snapshot must be younger than the lock.
        if await conn.fetchval("SELECT EXISTS (SELECT FROM outbox)"):
            await self._wake_up(conn)
            return False
        return True

    async def _wake_up(self, conn: asyncpg.Connection) -> None:
        if self._asleep:
            await conn.execute(f"SELECT pg_advisory_unlock({_ASLEEP})")
            self._asleep = False

    async def publish_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch in id order; move it to the journal once every message is
        acked. Reconciles first when due; nothing is published while a replay is owed."""
        due = self._check_now or time.monotonic() - self._checked_at > self.check_ttl
        if due and not await self.reconcile(conn):
            return 0
        rows = await conn.fetch(
            "SELECT id, topic, key, event_type, payload, created_at FROM outbox"
            " ORDER BY id LIMIT $1",
            self.batch_size,
        )
        await self._observe_backlog(conn, rows)
        if not rows:
            return 0
        await self._send(rows)
        await conn.execute(journal.MOVE, [r["id"] for r in rows])
        self.published += len(rows)
        for event_type, n in Counter(r["event_type"] for r in rows).items():
            PUBLISHED.labels(schema=self.schema, event_type=event_type).inc(n)
        return len(rows)

    async def reconcile(self, conn: asyncpg.Connection) -> bool:
        """Take an operator's replay request, compare the broker's epoch with ours and
        publish the journal again where either asks; True once the outbox may follow."""
        state = await conn.fetchrow(journal.STATE)
        if state["replay_request"] is not None:
            state = await conn.fetchrow(journal.TAKE_REQUEST)
            log.info("outbox.replay_requested", schema=self.schema, after=state["replay_after"])
        current = None
        if self.epoch is not None:
            current = await self.epoch.read()
            if state["bus_epoch"] is None:
                # Nothing was published under any epoch yet: there is nothing to restore.
                await conn.execute(journal.ADOPT_EPOCH, current.id)
            elif current.id not in (state["bus_epoch"], state["replay_epoch"]):
                state = await conn.fetchrow(journal.START_EPOCH_REPLAY, current.id)
                self._acked.clear()  # the new log's offsets start again
                log.warning(
                    "outbox.broker_lost_its_log",
                    schema=self.schema,
                    stored_epoch=state["bus_epoch"],
                    broker_epoch=current.id,
                    effect="the journal is published again before the outbox",
                )
        if state["replay_after"] is not None:
            # A replay onto a new log waits out the grace; the log's epoch is ours after.
            new_log = current if state["replay_epoch"] is not None else None
            if new_log is not None and not await self._grace(new_log.seen_at):
                return False
            if not await self._replay(conn, state["replay_after"]):
                return False
            await conn.execute(journal.FINISH, new_log.id if new_log else None)
        self._check_now = False
        self._checked_at = time.monotonic()
        return True

    async def _grace(self, seen_at: float) -> bool:
        """Hold a replay onto a new log until ``replay_grace`` after this relay first saw
        its epoch; False if asked to stop meanwhile."""
        while (left := seen_at + self.replay_grace - time.time()) > 0:
            if self._stopping:
                return False
            await asyncio.sleep(min(left, 0.2))
        return True

    async def _replay(self, conn: asyncpg.Connection, after: int) -> bool:
        """Publish the journal's rows after id ``after`` again, a keyset page at a time,
        the progress stored after each; False if asked to stop halfway."""
        started, total = time.monotonic(), 0
        while True:
            rows = await conn.fetch(journal.PAGE, after, self.batch_size)
            if rows:
                await self._send(rows)
                after = rows[-1]["id"]
                await conn.execute(journal.PROGRESS, after)
                total += len(rows)
                self.replayed += len(rows)
                REPLAYED.labels(schema=self.schema).inc(len(rows))
            if len(rows) < self.batch_size:
                log.info(
                    "outbox.replayed",
                    schema=self.schema,
                    rows=total,
                    seconds=round(time.monotonic() - started, 2),
                )
                return True
            if self._stopping:
                return False

    async def _send(self, rows: list[asyncpg.Record]) -> None:
        """Hand ``rows`` to the producer in order and wait for every acknowledgement."""
        producer = await self._ensure_producer()
        futures = [
            await producer.send(
                self.topic_prefix + r["topic"], value=bytes(r["payload"]), key=r["key"].encode()
            )
            for r in rows
        ]
        acked = await asyncio.gather(*futures)
        self._checked_at = time.monotonic()
        if self.epoch is None:
            return
        # A partition's offsets only grow while the broker keeps its log, whoever else
        # writes to it; going back means this batch reached a new log (the producer
        # retried it there unseen): reconcile before the next one.
        for meta in acked:
            tp = (meta.topic, meta.partition)
            if meta.offset <= self._acked.get(tp, -1):
                log.warning("outbox.offsets_went_back", schema=self.schema, topic=meta.topic)
                self._check_now = True
            self._acked[tp] = meta.offset

    async def _observe_backlog(self, conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
        if len(rows) < self.batch_size:
            OUTBOX_BACKLOG.labels(schema=self.schema).set(len(rows))
        else:
            OUTBOX_BACKLOG.labels(schema=self.schema).set(
                await conn.fetchval("SELECT count(*) FROM outbox")
            )
        age = time.time() - rows[0]["created_at"].timestamp() if rows else 0.0
        OUTBOX_OLDEST_AGE.labels(schema=self.schema).set(max(age, 0.0))

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = await self.producer_factory()
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except Exception as exc:  # a dead broker may refuse even the goodbye
                log.debug("outbox.producer_stop_failed", error=repr(exc))

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    def _on_replay_request(self, *_: object) -> None:
        self._check_now = True
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
