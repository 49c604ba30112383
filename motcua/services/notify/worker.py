"""The delivery worker: claims due deliveries, sends them, records every attempt.

One round: lease a batch (``FOR UPDATE SKIP LOCKED``, so replicas and loops
share the work), send its messages concurrently (the sender keeps at most
``send_concurrency`` in flight), then in one transaction, in a few round trips
whatever the batch size, leave every delivery in its new state, append the
attempts to the delivery log and write ``notification.sent`` /
``notification.failed`` to the outbox. A failure is retried with exponential
backoff and jitter; after the last try the next channel in the fallback order
takes over, and when none is left the source event goes to its dead-letter topic.

Delivery is at least once, with the duplicate window kept to a single send: a
crash after the far side accepted a message but before the outcome committed
leaves the delivery leased, and when the lease runs out it is sent again under
the same idempotency key (and, for e-mail, the same Message-ID). A receiver that
dedupes on the key shows one message; one that ignores it may show two. A live
worker renews the leases of the round it is sending, so a slow round is never
taken over and sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import prometheus_client

from motcua.services.notify.channels import Outgoing, Sender, SendResult
from motcua.services.notify.domain import (
    Channel,
    DeliveryStatus,
    Kind,
    RetryPolicy,
    Verdict,
    after_failure,
    before_send,
    send_not_before,
)
from motcua.services.notify.message_templates import Composer
from motcua.services.notify.repository import deliveries
from motcua.services.notify.repository.deliveries import Attempt, Claimed, NewDelivery, Outcome
from motcua.services.notify.settings import NotifySettings
from motcua.services.notify.usecases import PRIVATE_KINDS, delivery_id, private_context
from motcua.shared.bus import outbox
from motcua.shared.bus.consumer import Publish
from motcua.shared.crypto import AT_REST, BUS
from motcua.shared.db import session
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import NotificationFailed, NotificationSent
from motcua.shared.events.registry import MalformedEvent, UnknownEventType, parse_event
from motcua.shared.logging import get_logger

log = get_logger(__name__)

DELIVERIES = prometheus_client.Counter(
    "motcua_notify_deliveries_total", "Delivery attempts by outcome", ["channel", "outcome"]
)
INTERRUPTED = "its sender stopped mid-send; sent again under the same idempotency key"


@dataclass
class _Round:
    """What one round decided, written in one transaction."""

    outcomes: list[Outcome] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    events: list[Envelope[Any]] = field(default_factory=list)
    fallbacks: list[tuple[Claimed, datetime]] = field(default_factory=list)
    dead: list[tuple[uuid.UUID, dict[str, str]]] = field(default_factory=list)
    counted: Counter[tuple[str, str]] = field(default_factory=Counter)  # channel, outcome


class DeliveryWorker:
    """Sends what the consumer recorded. Run under ``runtime.spawn``."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        sender: Sender,
        composer: Composer,
        settings: NotifySettings,
        publish: Callable[[], Publish],
        *,
        schema: str = "notify",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.composer = composer
        self.settings = settings
        self.contact_keys = settings.contact_keyring(BUS)
        self.rest_keys = settings.contact_keyring(AT_REST)
        self.publish = publish
        self.channel = schema + deliveries.WAKE_CHANNEL_SUFFIX
        self.clock = clock
        self.jitter = jitter
        self.policy = RetryPolicy(
            settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
        )
        self._wakes: list[asyncio.Event] = []
        self._stop_listening = asyncio.Event()
        self._done = asyncio.Event()
        self._stopping = False
        self._queued_dead = True  # letters a previous run may have left
        self._next_flush = 0.0

    # --------------------------------------------------------------- running

    async def run(self) -> None:
        """Listen for new deliveries and run the sending loops until stopped."""
        self._wakes = [asyncio.Event() for _ in range(self.settings.worker_tasks)]
        loops = [
            asyncio.create_task(self._loop(wake), name=f"notify:deliver:{i}")
            for i, wake in enumerate(self._wakes)
        ]
        try:
            await self._listen()
        finally:
            self._stopping = True
            self._on_notify()
            await asyncio.gather(*loops, return_exceptions=True)
            await self.sender.aclose()
            self._done.set()

    async def stop(self, timeout: float = 15.0) -> None:
        """Finish the round in progress, then stop; rows still leased are sent again
        (same idempotency key) once their lease runs out."""
        self._stopping = True
        self._on_notify()
        self._stop_listening.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), timeout)

    async def _listen(self) -> None:
        retry = _Backoff("notify.listener_error")
        while not self._stopping:
            try:
                async with session(self.pool()) as conn:
                    await conn.add_listener(self.channel, self._on_notify)
                    retry.reset()
                    self._on_notify()  # catch up on what arrived while not listening
                    try:
                        while not self._stopping and not conn.is_closed():
                            await _wait(self._stop_listening, self.settings.poll_seconds * 5)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(self.channel, self._on_notify)
            except Exception as exc:  # not a cancellation: that is no Exception
                await retry.after(exc)

    async def _loop(self, wake: asyncio.Event) -> None:
        retry = _Backoff("notify.worker_error")
        while not self._stopping:
            wake.clear()  # before the round: a wake-up during it triggers the next one
            try:
                claimed = await self.run_once()
                if self._dead_letters_due():
                    await self.flush_dead_letters()
                retry.reset()
                if claimed < self.settings.worker_batch:
                    await _wait(wake, await self._until_next_due())
            except Exception as exc:  # not a cancellation: that is no Exception
                await retry.after(exc)

    async def _until_next_due(self) -> float:
        """Seconds until the next delivery or lease falls due, at most the poll interval."""
        async with self.pool().acquire() as conn:
            due = await deliveries.next_due(conn)
        wait = self.settings.poll_seconds
        if due is not None:
            wait = min(wait, max((due - self.clock()).total_seconds(), 0.0))
        return wait

    def _dead_letters_due(self) -> bool:
        """Right after a round queued some, else once per poll interval (for letters a
        stopped replica left queued): not three round trips per round."""
        return self._queued_dead or time.monotonic() >= self._next_flush

    def _on_notify(self, *_: object) -> None:
        for wake in self._wakes:
            wake.set()

    # ------------------------------------------------------------- one round

    async def run_once(self) -> int:
        """Claim, send and record one batch; the number of deliveries claimed."""
        now = self.clock()
        async with self.pool().acquire() as conn:
            claimed = await deliveries.claim_due(
                conn,
                now,
                self.settings.worker_batch,
                self.settings.lease_seconds,
                INTERRUPTED,
                self.rest_keys,
            )
        if not claimed:
            return 0
        batch = _Round()
        to_send: list[Claimed] = []
        releases: dict[tuple[str, str, str], datetime] = {}  # one per center, channel, kind
        for c in claimed:
            key = (c.center_id, c.channel, c.kind)
            release = releases.get(key)
            if release is None:
                quiet = self.settings.quiet_hours_of(c.center_id)
                release = releases[key] = send_not_before(
                    now, channel=Channel(c.channel), kind=Kind(c.kind), quiet=quiet
                )
            verdict = before_send(
                opted_out=c.opted_out,
                has_address=c.address is not None,
                attempts=c.attempts,
                policy=self.policy,
                release_at=release,
                now=now,
            )
            if verdict == Verdict.SEND:
                to_send.append(c)
            elif verdict == Verdict.SUPPRESS:
                self._suppressed(batch, c, now)
            elif verdict == Verdict.DEFER:
                self._deferred(batch, c, now, release)
            else:
                error = (
                    "contact no longer stored"
                    if c.address is None
                    else f"gave up after {c.attempts} attempts"
                )
                self._given_up(batch, c, now, c.attempts, error)
        keep = asyncio.create_task(self._keep_leased([c.id for c in to_send]))
        try:
            results = await asyncio.gather(*(self._send(c) for c in to_send))
        finally:
            keep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep
        finished = self.clock()
        for c, result in zip(to_send, results, strict=True):
            self._after_send(batch, c, result, now, finished)
        await self._record(batch)
        return len(claimed)

    async def _keep_leased(self, ids: list[uuid.UUID]) -> None:
        """Renew the lease while the round's sends are in flight, so that a slow round is
        not taken for a dead one and sent again by another loop or replica."""
        if not ids:
            return
        every = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            try:
                async with self.pool().acquire() as conn:
                    await deliveries.renew_lease(
                        conn, ids, self.clock(), self.settings.lease_seconds
                    )
            except Exception as exc:  # never fail the round: its sends are out already
                # Unrenewed leases run out: the rows are sent again, under the same keys.
                log.warning("notify.lease_not_renewed", error=repr(exc))

    async def _send(self, c: Claimed) -> SendResult:
        assert c.address is not None
        message = Outgoing(c.id, c.center_id, Channel(c.channel), c.address, c.title, c.body)
        return await self.sender.send(message)

    def _after_send(
        self, batch: _Round, c: Claimed, result: SendResult, started: datetime, finished: datetime
    ) -> None:
        attempt = c.attempts + 1
        outcome = "sent" if result.ok else "failed"
        batch.attempts.append(
            Attempt(c.id, attempt, c.channel, outcome, started, finished, result.error, c.segments)
        )
        batch.counted[c.channel, outcome] += 1
        if result.ok:
            batch.outcomes.append(Outcome(c.id, DeliveryStatus.SENT, attempt))
            batch.events.append(self._event(c, NotificationSent, attempts=attempt))
            return
        error = result.error or "send failed"
        if after_failure(attempt, self.policy, permanent=result.permanent) == Verdict.SEND:
            delay = self.policy.delay(attempt, self.jitter())
            retry_at = finished + timedelta(seconds=delay)
            batch.outcomes.append(Outcome(c.id, DeliveryStatus.PENDING, attempt, retry_at, error))
            log.info("notify.retry_scheduled", channel=c.channel, attempt=attempt, delay=delay)
        else:
            self._given_up(batch, c, finished, attempt, error)

    def _suppressed(self, batch: _Round, c: Claimed, now: datetime) -> None:
        batch.outcomes.append(
            Outcome(c.id, DeliveryStatus.SUPPRESSED, c.attempts, None, "opted out")
        )
        batch.attempts.append(
            Attempt(c.id, c.attempts, c.channel, "suppressed", now, now, "opted out")
        )

    def _deferred(self, batch: _Round, c: Claimed, now: datetime, release: datetime) -> None:
        reason = f"quiet hours: held until {release.isoformat()}"
        batch.outcomes.append(Outcome(c.id, DeliveryStatus.PENDING, c.attempts, release))
        batch.attempts.append(Attempt(c.id, c.attempts, c.channel, "deferred", now, now, reason))

    def _given_up(
        self, batch: _Round, c: Claimed, now: datetime, attempts: int, error: str
    ) -> None:
        """This channel is done for: tell the bus, then fall back or dead-letter."""
        batch.outcomes.append(Outcome(c.id, DeliveryStatus.FAILED, attempts, None, error))
        batch.events.append(
            self._event(c, NotificationFailed, attempts=max(attempts, 1), error=error[:2000])
        )
        log.warning("notify.delivery_failed", channel=c.channel, kind=c.kind, attempts=attempts)
        if c.fallback:
            batch.fallbacks.append((c, now))
            return
        headers = {
            "x-error": error[:2000],
            "x-consumer": "notify",
            "x-notification-id": str(c.id),
            "x-kind": c.kind,
            "x-channel": c.channel,
            "x-attempts": str(attempts),
            "x-failed-at": now.isoformat(),
        }
        batch.dead.append((c.source_event_id, headers))

    async def _fallbacks(
        self, conn: asyncpg.Connection, due: list[tuple[Claimed, datetime]]
    ) -> list[NewDelivery]:
        """The next channel's messages. Values kept out of the stored context (the
        lookup secret) are opened again from the source event."""
        wanted = [c.source_event_id for c, _ in due if Kind(c.kind) in PRIVATE_KINDS]
        sources = await deliveries.source_payloads(conn, wanted)
        return [self._fallback(c, now, self._private(c, sources)) for c, now in due]

    def _private(self, c: Claimed, sources: dict[uuid.UUID, bytes]) -> dict[str, str]:
        payload = sources.get(c.source_event_id)
        if payload is None:
            return {}
        try:
            event = parse_event(payload)
        except (MalformedEvent, UnknownEventType):
            return {}
        return private_context(self.contact_keys, Kind(c.kind), event)

    def _fallback(self, c: Claimed, now: datetime, private: dict[str, str]) -> NewDelivery:
        step, *rest = c.fallback
        kind, channel = Kind(c.kind), Channel(step["channel"])
        composed = self.composer.compose(
            kind, channel, step["recipient_ref"], step["language"], {**c.context, **private}
        )
        quiet = self.settings.quiet_hours_of(c.center_id)
        return NewDelivery(
            id=delivery_id(c.source_event_id, c.kind, channel, step["recipient_ref"]),
            source_event_id=c.source_event_id,
            center_id=c.center_id,
            kind=c.kind,
            channel=channel.value,
            recipient_ref=step["recipient_ref"],
            subject_kind=c.subject_kind,
            subject_id=c.subject_id,
            contact_kind=step["contact_kind"],
            language=step["language"],
            title=composed.title,
            body=composed.body,
            segments=composed.segments,
            context=c.context,
            fallback=rest,
            status=DeliveryStatus.PENDING.value,
            due_at=send_not_before(now, channel=channel, kind=kind, quiet=quiet),
        )

    def _event(self, c: Claimed, model: Any, **extra: Any) -> Envelope[Any]:
        payload = model(
            notification_id=c.id,
            kind=c.kind,
            channel=c.channel,
            recipient_ref=c.recipient_ref,
            source_event_id=c.source_event_id,
            **extra,
        )
        return new_event(
            payload,
            center_id=c.center_id,
            producer="notify",
            correlation_id=c.correlation_id or c.source_event_id,
            causation_id=c.source_event_id,
        )

    async def _record(self, batch: _Round) -> None:
        for (channel, outcome), n in batch.counted.items():  # one label lookup per kind
            DELIVERIES.labels(channel, outcome).inc(n)
        async with self.pool().acquire() as conn, conn.transaction():
            await deliveries.finish(conn, batch.outcomes, batch.attempts)
            if batch.fallbacks:
                await deliveries.add_deliveries(
                    conn, await self._fallbacks(conn, batch.fallbacks), self.rest_keys
                )
            await deliveries.add_dead_letters(conn, batch.dead)
            if batch.events:
                await outbox.add(conn, *batch.events)
            if batch.fallbacks:
                await deliveries.wake_worker(conn)
        self._queued_dead = self._queued_dead or bool(batch.dead)

    # ---------------------------------------------------------- dead letters

    async def flush_dead_letters(self, limit: int = 100) -> int:
        """Publish queued dead letters (at least once) and forget them."""
        self._queued_dead = False
        self._next_flush = time.monotonic() + self.settings.poll_seconds
        async with self.pool().acquire() as conn, conn.transaction():
            rows = await deliveries.pending_dead_letters(conn, limit)
            if not rows:
                return 0
            self._queued_dead = len(rows) == limit  # more wait: the next round takes them
            publish = self.publish()
            for r in rows:
                key = r["key"].encode() if r["key"] is not None else None
                await publish(r["topic"], bytes(r["payload"]), key, dict(r["headers"]))
            await deliveries.drop_dead_letters(conn, [r["id"] for r in rows])
        return len(rows)


class _Backoff:
    """The pause of a loop that must outlive failures (the database restarting): 0.2 s,
    doubling up to 5 s while attempts keep failing, 0.2 s again once one gets going."""

    def __init__(self, event: str) -> None:
        self.event = event
        self.seconds = 0.2

    def reset(self) -> None:
        self.seconds = 0.2

    async def after(self, exc: Exception) -> None:
        log.warning(self.event, error=repr(exc))
        await asyncio.sleep(self.seconds)
        self.seconds = min(self.seconds * 2, 5.0)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
