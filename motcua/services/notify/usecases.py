"""The notify service layer: what an event or a citizen's request does.

Bus handlers and HTTP routes call these with an open connection inside their
transaction. Consuming an event only *records* the messages it calls for (the
outbox of deliveries); the delivery worker sends them. The messages of a whole
fetched batch are recorded together, in a few round trips.

A message about a dossier whose ``dossier.received`` has not been consumed yet (it
travels on another topic than deadline events) is *held*: the receipt brings the
contact and releases it, in the receipt's transaction. One never released expires.

A message's context is stored with it, to compose it again for a fallback
channel. Private values (the dossier's lookup secret) are rendered into the
message body only: they are opened again from the source event when needed.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import Counter, Gauge

from motcua.services.notify import daily_cap
from motcua.services.notify.contacts import (
    Contact,
    InvalidContact,
    feedback_token,
    normalise,
    read_feedback_token,
    read_opt_out_token,
    recipient_ref,
)
from motcua.services.notify.domain import (
    AFTER_RECEIPT,
    Channel,
    ContactKind,
    DeliveryStatus,
    Kind,
    Step,
    is_opt_out,
    plan_channels,
    send_not_before,
    waits_for_receipt,
)
from motcua.services.notify.errors import Invalid
from motcua.services.notify.message_templates import Composer, language_of
from motcua.services.notify.repository import citizens as repo
from motcua.services.notify.repository import deliveries
from motcua.services.notify.repository import held as held_repo
from motcua.services.notify.settings import NotifySettings
from motcua.shared.bus import outbox
from motcua.shared.crypto import AT_REST, BUS, Keyring, SealError
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import FeedbackReceived, SealedContact
from motcua.shared.events.registry import parse_event
from motcua.shared.events.topics import key_of, stream_of
from motcua.shared.logging import get_logger

log = get_logger(__name__)

HELD = Counter(
    "motcua_notify_receipt_waits_total",
    "Dossier messages held for their dossier's receipt, by what became of them",
    ["kind", "outcome"],
)
HELD_NOW = Gauge(
    "motcua_notify_held_messages", "Dossier messages waiting for their dossier's receipt"
)

STAFF = "staff"
"""The subject kind of a staff member's contacts and messages (``staff.py``)."""

_DELIVERY_NS = uuid.UUID("0b9a4c9e-52a4-4b8e-9d0c-6f0f3c2f1d11")


def delivery_id(event_id: uuid.UUID, kind: str, channel: str, ref: str) -> uuid.UUID:
    """Deterministic: the same intended message always has the same id (and key)."""
    return uuid.uuid5(_DELIVERY_NS, f"{event_id}/{kind}/{channel}/{ref}")


# Kinds whose messages show values that are not kept in their stored context.
PRIVATE_KINDS = frozenset({Kind.DOSSIER_RECEIVED, Kind.DOSSIER_SUBMITTED})


def private_context(keys: Keyring, kind: Kind, event: Envelope[Any]) -> dict[str, str]:
    """Values a message shows but notify never stores apart from the rendered body.

    The lookup secret of a received dossier travels sealed like the contact (context:
    the dossier id). A secret that cannot be opened leaves it out: the message then
    points the citizen to the receipt, as it does without one.
    """
    if kind not in PRIVATE_KINDS:
        return {}
    sealed = getattr(event.data, "sealed_secret", None)
    if not sealed:
        return {}
    try:
        # Sealed with the contact, under the same key (an older event: any key may do).
        contact = getattr(event.data, "contact", None)
        key_id = contact.key_id if contact is not None else None
        return {"lookup_secret": keys.open(key_id, sealed, str(event.data.dossier_id))}
    except SealError as exc:
        log.warning("notify.secret_rejected", reason=str(exc))
        return {}


@dataclass(frozen=True)
class Intent:
    """One message an event calls for, to the citizen behind one ticket or dossier."""

    event: Envelope[Any]
    kind: Kind
    subject_kind: str
    subject_id: uuid.UUID
    context: Mapping[str, Any]  # stored with the delivery
    private: Mapping[str, Any] = field(default_factory=dict)  # rendered, never stored


@dataclass
class Notifier:
    """Turns facts into intended messages for the citizens who asked for them."""

    settings: NotifySettings
    composer: Composer
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @functools.cached_property
    def contact_keys(self) -> Keyring:
        """The contact keys, to open what producers sealed for notify."""
        return self.settings.contact_keyring(BUS)

    @functools.cached_property
    def rest_keys(self) -> Keyring:
        """The contact keys, to seal and open the addresses and bodies notify keeps."""
        return self.settings.contact_keyring(AT_REST)

    def ref_of(self, kind: ContactKind, address: str) -> str:
        return recipient_ref(self.settings.recipient_secret, kind, address)

    def private_of(self, kind: Kind, event: Envelope[Any]) -> dict[str, str]:
        return private_context(self.contact_keys, kind, event)

    # -------------------------------------------------------------- contacts

    def open_contact(self, sealed: SealedContact, context: str) -> Contact | None:
        """Unseal and normalise a consented contact; None (and a warning) if unusable."""
        try:
            raw = self.contact_keys.open(sealed.key_id, sealed.sealed, context)
            address = normalise(sealed.kind, raw)
        except (SealError, InvalidContact) as exc:
            log.warning("notify.contact_rejected", kind=sealed.kind, reason=str(exc))
            return None
        return Contact(
            sealed.kind, address, self.ref_of(sealed.kind, address), language_of(sealed.language)
        )

    async def remember_contact(
        self,
        conn: asyncpg.Connection,
        subject_kind: str,
        subject_id: uuid.UUID,
        center_id: str,
        sealed: SealedContact | None,
    ) -> None:
        if sealed is None:
            return
        contact = self.open_contact(sealed, str(subject_id))
        if contact is not None:
            await repo.save_contact(
                conn, subject_kind, subject_id, center_id, contact, self.rest_keys
            )

    # ---------------------------------------------------------------- notify

    async def notify(
        self,
        conn: asyncpg.Connection,
        event: Envelope[Any],
        kind: Kind,
        subject_kind: str,
        subject_id: uuid.UUID,
        context: Mapping[str, Any],
    ) -> int:
        """Record the message ``kind`` for the subject's citizen, if they gave a contact."""
        return await self.notify_many(
            conn, [Intent(event, kind, subject_kind, subject_id, context)]
        )

    async def notify_many(self, conn: asyncpg.Connection, intents: Sequence[Intent]) -> int:
        """Record the messages of many events at once (one read, one pipelined write),
        holding those about a dossier whose receipt is unknown yet (one more read).

        Idempotent on (event, kind, channel, recipient). Returns messages to be sent.
        """
        return await self._record(conn, await self._hold_unreceived(conn, intents))

    async def _record(self, conn: asyncpg.Connection, intents: Sequence[Intent]) -> int:
        """Record messages whose citizen's contacts are known (or never will be)."""
        if not intents:
            return 0
        found = await repo.contacts_of_subjects(
            conn, {(i.subject_kind, i.subject_id) for i in intents}, self.rest_keys
        )
        sources: dict[uuid.UUID, deliveries.SourceEvent] = {}
        records = []
        for intent in intents:
            contacts = found.get((intent.subject_kind, intent.subject_id))
            if not contacts:
                continue  # no consent, no message
            event = intent.event
            if event.event_id not in sources:
                sources[event.event_id] = self._source(event)
            records.append((self._intended(intent, contacts), sources[event.event_id]))
        records = await self._within_daily_cap(conn, records)
        await deliveries.record_deliveries(conn, records, self.rest_keys)
        return sum(d.status == DeliveryStatus.PENDING for d, _ in records)

    async def _within_daily_cap(
        self,
        conn: asyncpg.Connection,
        records: list[tuple[deliveries.NewDelivery, deliveries.SourceEvent]],
    ) -> list[tuple[deliveries.NewDelivery, deliveries.SourceEvent]]:
        """Messages past the recipient's daily cap, recorded as suppressed with the reason."""
        # The cap spares citizens a flood; a leader hears of every late dossier, so
        # messages to staff are not counted against it.
        capped = [
            d for d, _ in records if d.status == DeliveryStatus.PENDING and d.subject_kind != STAFF
        ]
        today = self.clock().astimezone(self.composer.renderer.tz).date()
        allowed = await daily_cap.claim(
            conn, today, [d.recipient_ref for d in capped], self.settings.daily_cap_per_recipient
        )
        kept = []
        for d, source in records:
            if d.status == DeliveryStatus.PENDING and d.subject_kind != STAFF:
                if allowed[d.recipient_ref] > 0:
                    allowed[d.recipient_ref] -= 1
                else:
                    log.warning("notify.daily_cap", kind=d.kind, center_id=d.center_id)
                    d = dataclasses.replace(
                        d, status=DeliveryStatus.SUPPRESSED.value, last_error=daily_cap.REASON
                    )
            kept.append((d, source))
        return kept

    # ------------------------------------------------ held for the receipt

    async def _hold_unreceived(
        self, conn: asyncpg.Connection, intents: Sequence[Intent]
    ) -> list[Intent]:
        """Hold the messages whose dossier's receipt is unknown yet; the rest, to record."""
        about = {i.subject_id for i in intents if i.kind in AFTER_RECEIPT}
        unknown = await held_repo.unreceived(conn, about) if about else set()
        if unknown:
            # The receipt may be being recorded right now: under its lock, look again.
            await held_repo.lock_dossiers(conn, unknown)
            unknown = await held_repo.unreceived(conn, unknown)
        now, held, ready = self.clock(), [], []
        for i in intents:
            if waits_for_receipt(i.kind, received=i.subject_id not in unknown):
                held.append(self._held(i, now))
            else:
                ready.append(i)
        if held:
            await held_repo.hold(conn, held)
            for h in held:
                log.info("notify.held", kind=h.kind, dossier_id=str(h.dossier_id))
                HELD.labels(h.kind, "held").inc()
        return ready

    def _held(self, intent: Intent, now: datetime) -> held_repo.HeldMessage:
        wait = timedelta(hours=self.settings.receipt_wait_hours)
        return held_repo.HeldMessage(
            intent.event.event_id,
            intent.kind.value,
            intent.subject_id,
            intent.event.center_id,
            dict(intent.context),
            intent.event.to_bytes(),
            now,
            now + wait,
        )

    async def release_held(
        self, conn: asyncpg.Connection, dossier_ids: Collection[uuid.UUID]
    ) -> int:
        """Record the messages held for these dossiers, whose receipts were just recorded.

        Called in the receipts' transaction, after their contacts were saved. Returns
        messages to be sent (none for a citizen who gave no contact or opted out).
        """
        await held_repo.lock_dossiers(conn, dossier_ids)
        released = await held_repo.release_held(conn, dossier_ids)
        if not released:
            return 0
        for h in released:
            log.info("notify.released", kind=h.kind, dossier_id=str(h.dossier_id))
            HELD.labels(h.kind, "released").inc()
        intents = [
            Intent(parse_event(h.payload), Kind(h.kind), "dossier", h.dossier_id, h.context)
            for h in released
        ]
        return await self._record(conn, intents)

    async def expire_held(self, conn: asyncpg.Connection, limit: int = 500) -> int:
        """Drop held messages whose receipt never came in time (logged one by one)."""
        expired = await held_repo.drop_expired_held(conn, self.clock(), limit)
        for h in expired:
            log.warning(
                "notify.held_expired",
                kind=h.kind,
                dossier_id=str(h.dossier_id),
                source_event_id=str(h.event_id),
                center_id=h.center_id,
                held_at=h.held_at.isoformat(),
            )
            HELD.labels(h.kind, "expired").inc()
        HELD_NOW.set(await held_repo.count_held(conn))
        return len(expired)

    def _source(self, event: Envelope[Any]) -> deliveries.SourceEvent:
        stream = stream_of(event.event_type)
        return deliveries.SourceEvent(
            event.event_id,
            stream.topic(self.settings.kafka.topic_prefix),
            key_of(event),
            event.to_bytes(),
            event.correlation_id,
        )

    def _intended(
        self, intent: Intent, found: Collection[tuple[Contact, bool]]
    ) -> deliveries.NewDelivery:
        """The message on the first channel that reaches the citizen, the rest as fallback."""
        by_kind = {c.kind: c for c, opted_out in found if not opted_out}
        plan = plan_channels(
            by_kind,
            self.settings.channels_of(intent.event.center_id),
            self.settings.fallback_order,
        )
        reason = None
        if plan:
            step, fallback = plan[0], plan[1:]
            contact = by_kind[step.contact_kind]
        else:
            # Opted out everywhere, or no channel reaches this contact: on record, unsent.
            contact, opted_out = next(iter(found))
            step, fallback = Step(Channel.NONE, contact.kind), []
            reason = "opted out" if opted_out else "no channel reaches this contact"
        delivery = self._delivery(
            intent,
            step,
            contact,
            fallback=[
                {
                    "channel": s.channel.value,
                    "contact_kind": s.contact_kind,
                    "recipient_ref": by_kind[s.contact_kind].ref,
                    "language": by_kind[s.contact_kind].language,
                }
                for s in fallback
            ],
            suppressed=reason,
        )
        if reason is not None:
            log.info("notify.suppressed", kind=intent.kind.value, reason=reason)
        return delivery

    def _delivery(
        self,
        intent: Intent,
        step: Step,
        contact: Contact,
        *,
        fallback: list[dict[str, str]],
        suppressed: str | None,
    ) -> deliveries.NewDelivery:
        """The message for one contact on one channel, due now or after quiet hours;
        recorded as suppressed (with the reason) when it is not to be sent."""
        event, kind = intent.event, intent.kind
        composed = self.composer.compose(
            kind,
            step.channel,
            contact.ref,
            contact.language,
            {**intent.context, **intent.private},
        )
        quiet = self.settings.quiet_hours_of(event.center_id)
        status = DeliveryStatus.PENDING if suppressed is None else DeliveryStatus.SUPPRESSED
        return deliveries.NewDelivery(
            id=delivery_id(event.event_id, kind, step.channel, contact.ref),
            source_event_id=event.event_id,
            center_id=event.center_id,
            kind=kind.value,
            channel=step.channel.value,
            recipient_ref=contact.ref,
            subject_kind=intent.subject_kind,
            subject_id=intent.subject_id,
            contact_kind=contact.kind,
            language=contact.language,
            title=composed.title,
            body=composed.body,
            segments=composed.segments,
            context=dict(intent.context),
            status=status.value,
            due_at=send_not_before(self.clock(), channel=step.channel, kind=kind, quiet=quiet),
            fallback=fallback,
            last_error=suppressed,
        )

    # ---------------------------------------------------------- opting out

    async def opt_out_by_link(self, conn: asyncpg.Connection, token: str) -> bool:
        try:
            ref = read_opt_out_token(self.settings.link_secrets, token)
        except ValueError as exc:
            raise Invalid("token", str(exc)) from None
        return await self._opt_out(conn, ref, "link")

    async def opt_out_by_reply(self, conn: asyncpg.Connection, sender: str, text: str) -> bool:
        """An SMS reply: a stop keyword from a valid number opts that number out."""
        if not is_opt_out(text):
            return False
        try:
            address = normalise("phone", sender)
        except InvalidContact as exc:
            raise Invalid("from", str(exc)) from None
        await self._opt_out(conn, self.ref_of("phone", address), "keyword")
        return True

    async def _opt_out(self, conn: asyncpg.Connection, ref: str, source: str) -> bool:
        new = await repo.add_opt_out(conn, ref, source)
        stopped = await deliveries.suppress_pending(conn, ref, self.clock())
        log.info("notify.opted_out", source=source, recipient_ref=ref, stopped=stopped)
        return new

    # ------------------------------------------------------------ feedback

    @property
    def link_secret(self) -> str:
        return self.composer.link_secret

    def feedback_url(self, dossier_id: uuid.UUID) -> str:
        return self.composer.link(f"feedback/{feedback_token(self.link_secret, dossier_id)}")

    def dossier_of_token(self, token: str) -> uuid.UUID:
        try:
            return read_feedback_token(self.settings.link_secrets, token)
        except ValueError as exc:
            raise Invalid("token", str(exc)) from None

    async def submit_feedback(
        self, conn: asyncpg.Connection, token: str, rating: int, comment: str | None
    ) -> Envelope[Any]:
        """Store a citizen's rating of a closed dossier and publish ``feedback.received``."""
        if not 1 <= rating <= 5:
            raise Invalid("rating", "a rating is a whole number from 1 to 5")
        dossier = await repo.get_dossier(conn, self.dossier_of_token(token))
        comment = (comment or "").strip()[:2000] or None
        received_at = await repo.add_feedback(conn, dossier.dossier_id, rating, comment)
        event = new_event(
            FeedbackReceived(
                dossier_id=dossier.dossier_id,
                rating=rating,
                comment=comment,
                on_date=received_at.astimezone(ZoneInfo(self.settings.timezone)).date(),
            ),
            center_id=dossier.center_id,
            producer="notify",
        )
        await outbox.add(conn, event)
        return event
