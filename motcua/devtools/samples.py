"""Events as their producers publish them, for tests and benchmarks of notify: contacts
sealed with a development key, random phone numbers and lookup secrets."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from motcua.shared.crypto import seal
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    CenterConfigured,
    DeadlineOverdue,
    DeadlineUpdated,
    DossierFinancialObligationNotified,
    DossierReceived,
    DossierResolved,
    DossierReturned,
    DossierSupplementRequested,
    DossierWithdrawn,
    SealedContact,
    TicketCalled,
    TicketIssued,
    TimeLimitSnapshot,
)

CONTACT_KEY = "test-contact-key"  # what notify is given to open the contacts


def random_phone() -> str:
    """A valid Vietnamese mobile number, national format (090xxxxxxx)."""
    return "090" + "".join(random.choices("0123456789", k=7))


def e164(phone: str) -> str:
    return "+84" + phone[1:]


def random_secret() -> str:
    """A lookup secret shaped like intake's (``K7Q2M-9XD4T``)."""
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    return "".join(random.choices(alphabet, k=5)) + "-" + "".join(random.choices(alphabet, k=5))


def sealed(kind: str, address: str, context: uuid.UUID, language: str = "vi") -> SealedContact:
    return SealedContact(
        kind=kind,
        sealed=seal(CONTACT_KEY, address, str(context)),
        language=language,
    )


# ------------------------------------------------------------------- events


def ticket_issued(
    center: str,
    line: str,
    number: str,
    *,
    phone: str | None = None,
    language: str = "vi",
    priority: str | None = None,
    at: datetime | None = None,
) -> Envelope[Any]:
    ticket_id = uuid.uuid4()
    contact = sealed("phone", phone, ticket_id, language) if phone else None
    return new_event(
        TicketIssued(
            ticket_id=ticket_id,
            number=number,
            line_code=line,
            lookup_code=number.lower(),
            priority=priority is not None,
            issued_at=at or datetime.now(UTC),
            contact=contact,
        ),
        center_id=center,
        producer="queue",
    )


def ticket_called(issued: Envelope[Any], counter: str = "3") -> Envelope[Any]:
    d = issued.data
    return new_event(
        TicketCalled(
            ticket_id=d.ticket_id,
            number=d.number,
            line_code=d.line_code,
            lookup_code=d.lookup_code,
            counter_id=counter,
        ),
        center_id=issued.center_id,
        producer="queue",
    )


@dataclass(frozen=True)
class Dossier:
    center: str
    dossier_id: uuid.UUID
    code: str


def dossier_received(
    center: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    language: str = "vi",
    dossier_id: uuid.UUID | None = None,
    secret: str | None = None,
) -> tuple[Dossier, Envelope[Any]]:
    """``secret``: the lookup secret, sealed for notify as intake seals it."""
    dossier = Dossier(center, dossier_id or uuid.uuid4(), f"HS-{random.randint(0, 10**8):08d}")
    contact = None
    if phone:
        contact = sealed("phone", phone, dossier.dossier_id, language)
    elif email:
        contact = sealed("email", email, dossier.dossier_id, language)
    now = datetime.now(UTC)
    event = new_event(
        DossierReceived(
            dossier_id=dossier.dossier_id,
            dossier_code=dossier.code,
            procedure_code="BIRTH",
            status=2,
            received_at=now,
            channel="counter",
            time_limit=TimeLimitSnapshot(amount=1, unit="working_days"),
            appointment_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
            contact=contact,
            sealed_secret=seal(CONTACT_KEY, secret, str(dossier.dossier_id)) if secret else None,
        ),
        center_id=center,
        producer="intake",
    )
    return dossier, event


def about(d: Dossier, payload: type[Any], producer: str = "intake", **fields: Any) -> Envelope[Any]:
    """An event of ``payload``'s type about dossier ``d``, with the given ``fields``."""
    facts = {"dossier_id": d.dossier_id, "dossier_code": d.code, "procedure_code": "BIRTH"}
    return new_event(payload(**facts, **fields), center_id=d.center, producer=producer)


def supplement_requested(d: Dossier) -> Envelope[Any]:
    return about(
        d,
        DossierSupplementRequested,
        status=5,
        reason="Bản sao chưa chứng thực",
        missing_documents=["Giấy chứng sinh", "CCCD của mẹ"],
    )


def resolved(d: Dossier) -> Envelope[Any]:
    return about(d, DossierResolved, status=9, outcome="approved")


def returned(d: Dossier) -> Envelope[Any]:
    return about(d, DossierReturned, status=10)


def withdrawn(d: Dossier) -> Envelope[Any]:
    return about(d, DossierWithdrawn, status=8)


def financial_obligation(d: Dossier, amount_vnd: int | None = 1_250_000) -> Envelope[Any]:
    return about(
        d,
        DossierFinancialObligationNotified,
        status=6,
        amount_vnd=amount_vnd,
        purpose="Lệ phí đăng ký thường trú",
        how_to_pay="Nộp tại quầy 2 hoặc chuyển khoản vào tài khoản 1234",
    )


def deadline_updated(d: Dossier, reason: str = "extension") -> Envelope[Any]:
    before = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    return about(
        d,
        DeadlineUpdated,
        producer="deadlines",
        due_at=before + timedelta(days=3),
        previous_due_at=before,
        reason=reason,
    )


def overdue(d: Dossier) -> Envelope[Any]:
    due = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    return about(
        d,
        DeadlineOverdue,
        producer="deadlines",
        due_at=due,
        new_appointment_at=due + timedelta(days=5),
        apology_letter_id=uuid.uuid4(),
    )


def center_configured(
    center_id: str, revision: int = 1, *, days_off: list[date] | None = None, active: bool = True
) -> CenterConfigured:
    """A center as the registry publishes it: one line, one counter, and the days it
    takes off beyond the national calendar."""
    return CenterConfigured(
        center_id=center_id,
        name=f"Trung tâm {center_id}",
        name_en=f"Center {center_id}",
        code="RC",
        active=active,
        lines=[{"code": "justice", "prefix": "A"}],
        counters=[{"counter_id": "Q1", "name": "Quầy 1", "line_codes": ["justice"]}],
        calendar={"extra_days_off": days_off or []},
        revision=revision,
    )
