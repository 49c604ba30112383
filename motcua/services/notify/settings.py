"""Settings of the notify service (environment prefix ``MOTCUA_NOTIFY_``).

Channel URLs are apprise URLs. JSON and form webhooks (``json://``, ``jsons://``,
``form://``, ``forms://``) are sent over pooled keep-alive connections, exactly as
apprise would send them; other schemes (``mailto://`` ...) go through apprise.
``{to}`` in a URL is replaced by the recipient's address (URL-quoted); without it
the address is added as apprise's ``to`` parameter (e-mail) or as a ``to`` field
of the JSON/form body (``:to=``).
Examples::

    MOTCUA_NOTIFY_CHANNELS='{"sms": "json://sms-gw.local:8080/send",
                            "email": "mailtos://user:pass@smtp.example.vn?from=thongbao@example.vn"}'
    MOTCUA_NOTIFY_CENTERS='{"nam-cuong": {"channels": {"sms": "json://10.0.0.5/sms"}}}'

With no channel URL at all, every message goes to the dev inbox, which only dev
mode allows: outside it notify refuses to start without a channel. The inbox's
pages (``/dev/inbox``) show messages in full, so they are served only when
``MOTCUA_NOTIFY_DEV_INBOX`` turns them on (``motcua dev`` does), and only in dev mode.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from motcua.services.notify.domain import Channel, QuietHours
from motcua.shared.settings import ServiceSettings


class CenterOverrides(BaseModel):
    """What one center configures differently from the service-wide defaults."""

    channels: dict[Channel, str] | None = Field(
        default=None, description="Channel URLs of this center; replaces the default set"
    )
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_NOTIFY_")

    port: int = 8004
    public_url: str = Field(
        default="http://127.0.0.1:8004",
        description="Base URL of this service as citizens reach it (opt-out and rating links)",
    )
    lookup_url: str = Field(
        default="http://127.0.0.1:8002/lookup?code={code}",
        description="Citizen lookup page of a dossier; {code} is replaced by the dossier code",
    )
    channels: dict[Channel, str] = Field(
        default_factory=dict,
        description="Default apprise URL per channel (sms, email, webhook) for every center",
    )
    centers: dict[str, CenterOverrides] = Field(
        default_factory=dict, description="Per-center channel URLs and quiet hours"
    )
    fallback_order: list[Channel] = Field(
        default_factory=lambda: [Channel.SMS, Channel.EMAIL],
        description="Channels tried in turn when one fails for good; add 'webhook' "
        "(e.g. a Zalo OA or push gateway) where it belongs",
    )
    dev_inbox: bool = Field(
        default=False,
        description="Serve /dev/inbox, which shows every center's messages in full and "
        "needs no sign-in: only in dev mode (`motcua dev` turns it on)",
    )
    timezone: str = "Asia/Ho_Chi_Minh"
    appointment_reminder_time: time = Field(
        default=time(16, 0),
        description="Local time, on the working day before a booked slot, of its reminder",
    )
    appointment_reminder_sweep_seconds: float = Field(
        default=60.0, gt=0, description="How often reminders that fell due are sent"
    )
    escalation_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often overdue dossiers still open are sent to their leader",
    )
    quiet_hours_start: time = Field(
        default=time(21, 0), description="No non-urgent SMS from this local time..."
    )
    quiet_hours_end: time = Field(
        default=time(7, 0), description="...until this one; equal start and end disable it"
    )
    daily_cap_per_recipient: int = Field(
        default=20,
        ge=1,
        description="Messages one recipient may get per local day, across replicas; the "
        "rest are recorded as suppressed (stops SMS and e-mail bombing through tickets)",
    )
    turn_soon_ahead: int = Field(
        default=3, ge=0, le=100, description="'Your turn soon' when at most this many are ahead"
    )
    turn_soon_minutes: float = Field(
        default=10.0, ge=0, description="...or when the estimated wait is under this"
    )
    default_service_seconds: float = Field(
        default=300.0, gt=0, description="Service time per ticket before any was measured"
    )
    receipt_wait_hours: float = Field(
        default=72.0,
        gt=0,
        description="How long a dossier's message consumed before its dossier.received "
        "(another topic: nothing orders the two) waits for it; then it is dropped, logged "
        "as notify.held_expired and counted",
    )
    max_attempts: int = Field(default=6, ge=1, le=50, description="Tries per channel")
    retry_base_seconds: float = Field(default=2.0, gt=0, description="First retry delay")
    retry_max_seconds: float = Field(default=600.0, gt=0, description="Longest retry delay")
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A claimed delivery whose sender vanished is retried after this long",
    )
    worker_batch: int = Field(default=200, ge=1, le=5000, description="Deliveries per claim")
    worker_tasks: int = Field(default=2, ge=1, le=32, description="Concurrent delivery loops")
    send_concurrency: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Most channel sends in flight at once per process; also the most "
        "keep-alive connections kept open to one HTTP gateway (a gateway answering in "
        "100 ms then takes up to 160 messages/s)",
    )
    send_threads: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Threads for apprise sends (e-mail and schemes without keep-alive "
        "HTTP; apprise blocks, and more threads starve the event loop)",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="Idle worker wake-up interval")
    rate_per_second: dict[Channel, float] = Field(
        default_factory=lambda: {
            Channel.SMS: 200.0,
            Channel.EMAIL: 50.0,
            Channel.WEBHOOK: 500.0,
            Channel.DEV_INBOX: 5000.0,
        },
        description="Rate limit of each channel, in messages per second, shared by every "
        "replica (a gateway's contract limits the deployment, not one process)",
    )
    send_timeout_seconds: float = Field(default=10.0, gt=0, description="One channel send")
    recipient_key: SecretStr | None = Field(
        default=None,
        description="Key of recipient references (and so of opt-outs); keep it when the "
        "contact key rotates. Defaults to the contact key",
    )
    link_key: SecretStr = Field(
        default=SecretStr("dev-only-link-key-change-me"),
        description="Key that signs opt-out and rating links in messages; its own key, so "
        "rotating the auth secret leaves links already sent working",
    )
    link_old_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Retired link keys (JSON list) whose links still open; one goes once "
        "the messages that carried its links are past caring (links do not expire). "
        "Before link_key existed links were signed with the auth secret: list it here",
    )
    inbound_secret: SecretStr = Field(
        default=SecretStr("dev-only-inbound-secret-change-me"),
        description="Shared secret the SMS gateway sends in X-Inbound-Secret with replies",
    )

    @property
    def recipient_secret(self) -> str:
        return (self.recipient_key or self.contact_key).get_secret_value()

    @property
    def link_secret(self) -> str:
        return self.link_key.get_secret_value()

    @property
    def link_secrets(self) -> list[str]:
        """Every key whose links open, the current one first."""
        return [self.link_secret, *(k.get_secret_value() for k in self.link_old_keys)]

    @property
    def has_channel(self) -> bool:
        return bool(self.channels) or any(c.channels for c in self.centers.values())

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.dev_inbox:
            problems.append("MOTCUA_NOTIFY_DEV_INBOX is on: the dev inbox shows every message")
        if not self.has_channel:
            problems.append(
                "no channel is configured (MOTCUA_NOTIFY_CHANNELS or MOTCUA_NOTIFY_CENTERS): "
                "every message would go to the dev inbox"
            )
        return problems

    def overrides(self, center_id: str) -> CenterOverrides | None:
        return self.centers.get(center_id)

    def channels_of(self, center_id: str) -> dict[Channel, str]:
        """The channel URLs a center uses: its own set, else the defaults."""
        own = self.overrides(center_id)
        return dict(own.channels) if own and own.channels is not None else dict(self.channels)

    def quiet_hours_of(self, center_id: str) -> QuietHours:
        own = self.overrides(center_id)
        start = self.quiet_hours_start
        end = self.quiet_hours_end
        if own and own.quiet_hours_start is not None:
            start = own.quiet_hours_start
        if own and own.quiet_hours_end is not None:
            end = own.quiet_hours_end
        return QuietHours(start, end, self.timezone)

    @property
    def dev_inbox_enabled(self) -> bool:
        return self.dev_inbox and self.dev_mode
