"""Settings of the queue service (environment prefix ``MOTCUA_QUEUE_``)."""

from __future__ import annotations

from dataclasses import fields
from datetime import time
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from motcua.services.queue.appointments import BookingRules
from motcua.services.queue.remote import RemoteRules
from motcua.shared.settings import ServiceSettings


class AppointmentSettings(BaseModel):
    """How a center lets citizens come at their time (booked slots and remote tickets);
    the defaults, or one center's own."""

    slot_minutes: int = Field(default=15, ge=5, le=240, description="Length of one slot")
    reserved_counters: int = Field(
        default=1,
        ge=0,
        le=50,
        description="Counters per line kept for appointments (bookings per slot); the "
        "line's other counters serve walk-ins. 0 turns booking off for the center",
    )
    opens_days_ahead: int = Field(
        default=14, ge=1, le=90, description="Booking opens this many days before a slot"
    )
    closes_minutes_before: int = Field(
        default=30, ge=0, le=1440, description="Booking closes this long before a slot"
    )
    daily_cap_per_line: int = Field(
        default=40, ge=0, le=10_000, description="Bookings per line per day at most"
    )
    check_in_early_minutes: int = Field(
        default=30, ge=0, le=240, description="The kiosk takes a booking code this early"
    )
    check_in_late_minutes: int = Field(
        default=15, ge=0, le=240, description="...and this late; after that it is a no-show"
    )

    remote_opens_at: time = Field(
        default=time(7, 0), description="Remote tickets for today from this local time"
    )
    remote_closes_at: time = Field(default=time(16, 0), description="...until this one")
    remote_per_phone_per_day: int = Field(
        default=1, ge=0, le=20, description="Remote tickets one phone number may take a day"
    )
    remote_per_client_per_day: int = Field(
        default=5,
        ge=0,
        le=1000,
        description="Remote tickets one client address may take a day (a family, a NAT)",
    )
    remote_grace_minutes: int = Field(
        default=15,
        ge=0,
        le=240,
        description="A remote ticket skipped this long without confirmed arrival is a no-show",
    )

    def rules(self) -> BookingRules:
        return BookingRules(**self.model_dump(include=_BOOKING_FIELDS))

    def remote(self) -> RemoteRules:
        return RemoteRules(
            opens_at=self.remote_opens_at,
            closes_at=self.remote_closes_at,
            per_phone_per_day=self.remote_per_phone_per_day,
            per_client_per_day=self.remote_per_client_per_day,
            grace_minutes=self.remote_grace_minutes,
        )


_BOOKING_FIELDS = {f.name for f in fields(BookingRules)}


class QueueSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_QUEUE_")

    port: int = 8001
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8003"],
        description="Browser origins allowed to read the public statistics (the leaders' "
        "dashboard); a JSON list",
    )
    centers_file: Path | None = Field(
        default=None,
        description="JSON file of centers, lines and counters; the packaged sample when unset. "
        "The center registry's configuration of a center replaces the file's",
    )
    max_priority_in_row: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Fairness guard: priority calls a counter may make in a row "
        "while normal tickets wait",
    )
    max_calls: int = Field(
        default=3, ge=1, le=10, description="Calls (first call plus recalls) before a no-show"
    )
    eta_window: int = Field(
        default=10,
        ge=1,
        le=500,
        description="Recent service times per line averaged for the estimated wait",
    )
    display_last_called: int = Field(
        default=10, ge=1, le=100, description="Called tickets listed on the display board"
    )
    sse_keepalive_seconds: float = Field(
        default=15.0, gt=0, description="Comment line sent on an idle display stream"
    )
    sse_max_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A display stream ends after this long; browsers reconnect on their own, "
        "and no stream can hold a shutdown for ever",
    )
    contact_tickets_per_minute: float = Field(
        default=10.0,
        gt=0,
        description="Sustained tickets with a contact (each sends a message) per client address",
    )
    contact_tickets_burst: int = Field(
        default=30, ge=1, description="Tickets with a contact one client address may take at once"
    )
    recipient_tickets_per_hour: float = Field(
        default=2.0, gt=0, description="Sustained tickets with the same contact"
    )
    recipient_tickets_burst: int = Field(
        default=4, ge=1, description="Tickets with the same contact at once"
    )
    sse_max_streams: int = Field(
        default=1000, ge=1, description="Display streams one process serves at once (503 beyond)"
    )
    sse_max_streams_per_client: int = Field(
        default=20,
        ge=1,
        description="Display streams one client address may hold at once (503 beyond); "
        "a center's screens behind one NAT share it",
    )
    default_center: str = Field(
        default="nam-cuong",
        min_length=1,
        max_length=64,
        description="Center shown by the kiosk, board and counter pages without ?center=",
    )
    intake_url: str = Field(
        default="http://127.0.0.1:8002",
        description="Intake's base URL as browsers reach it: the counter console loads the "
        "procedure catalog and receives dossiers there (intake must allow this service's "
        "origin by CORS)",
    )
    appointments: AppointmentSettings = Field(
        default_factory=AppointmentSettings,
        description="Booking rules of every center (slot length, counters reserved for "
        "appointments, booking window, daily cap, check-in window); a JSON object",
    )
    appointment_centers: dict[str, AppointmentSettings] = Field(
        default_factory=dict,
        description="A center's own booking rules, replacing the defaults for it; a JSON "
        "object keyed by center id",
    )
    no_show_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often bookings past their check-in window, and remote tickets "
        "skipped past their grace time, are marked no-show",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL at which citizens' phones reach the queue's pages, printed in "
        "the ticket's QR code; the kiosk's own address when unset",
    )

    def booking_rules(self, center_id: str) -> BookingRules:
        """The booking rules of one center: its own, else the defaults."""
        return self.appointment_centers.get(center_id, self.appointments).rules()

    def remote_rules(self, center_id: str) -> RemoteRules:
        """The remote-ticket rules of one center: its own, else the defaults."""
        return self.appointment_centers.get(center_id, self.appointments).remote()
