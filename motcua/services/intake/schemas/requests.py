"""HTTP request bodies of intake: the command data models plus what HTTP adds
(business time, a contact with its consent), validated so a 422 names the field.

Phone numbers are normalised with ``phonenumbers`` (Vietnam by default) to E.164,
so that the sealed contact notify receives is already canonical.
"""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from motcua.services.intake.usecases import Contact
from motcua.shared.events.commands import (
    AcceptData,
    AssignData,
    FulfilFinancialObligationData,
    NotAcceptData,
    NotifyFinancialObligationData,
    ProvideSupplementData,
    ReceiveData,
    RequestSupplementData,
    ResolveData,
    ReturnForReworkData,
    ReturnResultData,
    StopData,
    TransferBackData,
    TransferData,
    WithdrawData,
)
from motcua.shared.events.envelope import UtcTime

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
CENTER_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class ContactIn(BaseModel):
    """A phone number (Vietnamese or international) or an e-mail address."""

    # An e-mail's form, for the document (what ``_normalise`` checks once it is stripped).
    # A phone number is checked against the numbering plan, which no pattern states.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "email"}}},
            "then": {"properties": {"value": {"pattern": rf"^\s*{_EMAIL.pattern[1:-1]}\s*$"}}},
        },
    )

    kind: Literal["phone", "email"]
    value: str = Field(min_length=3, max_length=254)
    language: Literal["vi", "en"] = "vi"

    @model_validator(mode="after")
    def _normalise(self) -> ContactIn:
        if self.kind == "phone":
            try:
                number = phonenumbers.parse(self.value, "VN")
            except phonenumbers.NumberParseException:
                raise ValueError("not a phone number") from None
            if not phonenumbers.is_valid_number(number):
                raise ValueError("not a valid phone number")
            self.value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        else:
            value = self.value.strip()
            if not _EMAIL.match(value):
                raise ValueError("not an e-mail address")
            local, _, domain = value.rpartition("@")
            self.value = f"{local}@{domain.lower()}"
        return self

    def contact(self, consent: bool) -> Contact:
        return Contact(kind=self.kind, value=self.value, language=self.language, consent=consent)


class _At(BaseModel):
    occurred_at: UtcTime | None = Field(
        default=None,
        description="Business time of the change (default: now). Backdating beyond a few "
        "minutes needs an admin token (data migrations).",
    )


class CounterReceiptIn(ReceiveData):
    """A dossier received at the counter."""

    received_at: UtcTime | None = Field(
        default=None, description="Time of receipt (default: now); backdating needs admin"
    )
    contact: ContactIn | None = None
    consent_notifications: bool = Field(
        default=False, description="The citizen agreed to be notified on this contact"
    )

    def command_data(self) -> ReceiveData:
        return ReceiveData.model_validate(
            self.model_dump(exclude={"received_at", "contact", "consent_notifications"})
        )


class OnlineSubmissionIn(BaseModel):
    """A dossier filed online by the citizen."""

    model_config = ConfigDict(extra="forbid")

    center_id: str = Field(pattern=CENTER_ID)
    procedure_code: str = Field(min_length=1, max_length=64)
    applicant_name: str | None = Field(default=None, max_length=200)
    documents: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=2000)
    contact: ContactIn
    consent_notifications: bool = Field(
        description="Explicit: may intake pass the contact on for notifications?"
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        description="Alternative to the Idempotency-Key header",
    )

    @field_validator("documents")
    @classmethod
    def _documents(cls, value: list[str]) -> list[str]:
        if any(not d or len(d) > 300 for d in value):
            raise ValueError("each document name has 1 to 300 characters")
        return value


class AssignIn(AssignData, _At):
    pass


class RequestSupplementIn(RequestSupplementData, _At):
    pass


class ProvideSupplementIn(ProvideSupplementData, _At):
    pass


class NotifyFinancialObligationIn(NotifyFinancialObligationData, _At):
    pass


class FulfilFinancialObligationIn(FulfilFinancialObligationData, _At):
    pass


class ResolveIn(ResolveData, _At):
    pass


class ReturnResultIn(ReturnResultData, _At):
    pass


class WithdrawIn(WithdrawData, _At):
    pass


class StopIn(StopData, _At):
    pass


class AcceptIn(AcceptData, _At):
    pass


class NotAcceptIn(NotAcceptData, _At):
    pass


class TransferIn(TransferData, _At):
    pass


class TransferBackIn(TransferBackData, _At):
    pass


class ReturnForReworkIn(ReturnForReworkData, _At):
    pass


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=80)
    secret: str = Field(min_length=1, max_length=40)
