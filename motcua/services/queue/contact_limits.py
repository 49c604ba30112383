"""Limits on tickets that carry a contact: each one makes the center send an SMS or e-mail.

Taking a ticket needs no login, so without limits anyone could make the center's gateway
message any number, again and again (SMS bombing at the center's cost). Two buckets: per
client address (a kiosk serves a whole hall, so its budget is generous) and per recipient
(nobody takes many tickets a day for one phone). Like intake's lookup limits they live in
process: N replicas allow N times the rate, and notify's daily cap per recipient, counted
in PostgreSQL, is the bound that holds across replicas.
"""

from __future__ import annotations

import hashlib

from motcua.services.queue.errors import TooMany
from motcua.services.queue.usecases import ContactInput
from motcua.shared.ratelimit import TokenBuckets


def recipient_key(contact: ContactInput) -> str:
    """One key per recipient however it was typed; a digest, so memory holds no number."""
    value = contact.value.strip().lower()
    if contact.kind == "phone" and value.startswith("+84"):
        value = "0" + value[3:]
    return hashlib.sha256(f"{contact.kind}:{value}".encode()).hexdigest()[:32]


class ContactLimits:
    def __init__(self, per_client: TokenBuckets, per_recipient: TokenBuckets) -> None:
        self.per_client = per_client
        self.per_recipient = per_recipient

    def check(self, client: str, contact: ContactInput | None) -> None:
        """Spend a token of the client and of the recipient, or raise ``TooMany``."""
        if contact is None:
            return  # no message is sent: nothing to limit here
        wait = self.per_client.retry_after(client)
        if wait is not None:
            raise TooMany("too many tickets with a contact from this address; retry later", wait)
        wait = self.per_recipient.retry_after(recipient_key(contact))
        if wait is not None:
            raise TooMany("too many tickets with this contact; retry later", wait)
