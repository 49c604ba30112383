"""HTTP request and response models of the notify service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from motcua.services.notify.repository import delivery_log as deliveries

Status = Literal["pending", "sending", "sent", "failed", "suppressed"]


class AttemptOut(BaseModel):
    attempt: int
    channel: str
    outcome: str
    error: str | None
    segments: int | None
    started_at: datetime
    finished_at: datetime


class DeliveryOut(BaseModel):
    """One intended message. The recipient is only ever its opaque reference."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    center_id: str
    kind: str
    channel: str
    recipient_ref: str
    language: str
    title: str
    body: str = Field(
        description="The message as composed, with values only the citizen may read (the "
        f"dossier's lookup secret) masked as {deliveries.MASK}"
    )
    segments: int | None
    status: Status
    attempts: int
    due_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    log: list[AttemptOut] | None = None


class OptOutIn(BaseModel):
    token: str = Field(min_length=2, max_length=64, description="From the link in a message")


class OptOutOut(BaseModel):
    opted_out: bool
    already: bool = False


class InboundSms(BaseModel):
    """A reply the SMS gateway forwards."""

    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", min_length=3, max_length=32)
    text: str = Field(max_length=1600)


class FeedbackIn(BaseModel):
    token: str = Field(min_length=2, max_length=64, description="From the rating link")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    dossier_id: uuid.UUID
    rating: int
    event_id: uuid.UUID


# ------------------------------------------------------------ staff directory

StaffId = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class StaffContactsIn(BaseModel):
    """How to reach a member: a phone, an e-mail address, or both."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, min_length=3, max_length=32)
    email: str | None = Field(default=None, min_length=3, max_length=254)


class StaffFieldsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    department: str | None = Field(default=None, min_length=1, max_length=128)
    role: Literal["officer", "department_head", "leader"]
    contacts: StaffContactsIn
    language: Literal["vi", "en"] = "vi"


class StaffCreateIn(StaffFieldsIn):
    staff_id: str = StaffId


class StaffUpdateIn(StaffFieldsIn):
    active: bool = True


class StaffOut(BaseModel):
    """A member of the directory; contacts by kind only, never the addresses."""

    staff_id: str
    center_id: str
    display_name: str
    department: str | None
    role: str
    active: bool
    revision: int
    contact_kinds: list[str]
    updated_at: datetime


class StaffListOut(BaseModel):
    center_id: str
    loaded: bool = Field(
        description="Whether the center has a directory at all: without one, intake still "
        "accepts any assignee (docs/staff.md, the migration path)"
    )
    staff: list[StaffOut]


Rungs = list[Literal["assignee", "department_head", "leader"]]


class LadderIn(BaseModel):
    """Whom each deadline stage reaches; a stage left out keeps its default."""

    model_config = ConfigDict(extra="forbid")

    approaching: Rungs | None = Field(default=None, max_length=3)
    at_risk: Rungs | None = Field(default=None, max_length=3)
    overdue: Rungs | None = Field(default=None, max_length=3)
    still_open_hours: int | None = Field(
        default=None,
        ge=0,
        le=400,
        description="Working hours after a dossier went overdue, still open, at which the "
        "leader hears of it again; 0: never",
    )


class LadderOut(BaseModel):
    center_id: str
    approaching: list[str]
    at_risk: list[str]
    overdue: list[str]
    still_open_hours: int


class StaffAuditOut(BaseModel):
    subject: str
    action: str
    actor: str
    at: datetime
    before: dict[str, object] | None
    after: dict[str, object] | None
