"""Pure rules of the intake service: no I/O, no framework imports.

* **Statuses** are the national portal's 10-step list. Their codes and names come
  from a data file (:class:`StatusList`); the rules here name them by ``Step`` key,
  so the table below reads like the business rule and the numbers stay data.
* **The lifecycle** is one transition table, :data:`TRANSITIONS`: each operation
  lists the steps it may start from and the step it leads to. Anything else is an
  :class:`InvalidTransition` that names the operations allowed from where the
  dossier stands.
* **Identity**: a dossier's human-friendly code (center, local date, sequence) and
  its random lookup secret, of which only a hash is compared, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from motcua.services.intake.errors import InvalidInput, InvalidTransition

Clock = Literal["not_started", "running", "paused", "stopped"]


class Step(StrEnum):
    """The keys of the national status list; codes and names live in the data file."""

    REGISTERED = "registered"
    RECEIVED = "received"
    PROCESSING = "processing"
    TRANSFERRED = "transferred"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    FINANCIAL_OBLIGATION = "financial_obligation"
    RETURNED_FOR_REWORK = "returned_for_rework"
    STOPPED = "stopped"
    RESOLVED = "resolved"
    RESULT_RETURNED = "result_returned"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"


class Op(StrEnum):
    """Lifecycle operations on an existing dossier (``receive`` creates one)."""

    ACCEPT = "accept"
    NOT_ACCEPT = "not_accept"
    ASSIGN = "assign"
    REQUEST_SUPPLEMENT = "request_supplement"
    PROVIDE_SUPPLEMENT = "provide_supplement"
    NOTIFY_FINANCIAL_OBLIGATION = "notify_financial_obligation"
    FULFIL_FINANCIAL_OBLIGATION = "fulfil_financial_obligation"
    RESOLVE = "resolve"
    RETURN_RESULT = "return_result"
    WITHDRAW = "withdraw"
    STOP = "stop"
    TRANSFER = "transfer"
    TRANSFER_BACK = "transfer_back"
    RETURN_FOR_REWORK = "return_for_rework"


# Steps in which an officer is actively working the dossier, clock running.
_WORKING = frozenset({Step.RECEIVED, Step.PROCESSING, Step.TRANSFERRED, Step.RETURNED_FOR_REWORK})
_PAUSED = frozenset({Step.SUPPLEMENT_REQUESTED, Step.FINANCIAL_OBLIGATION})

CLOSED_STEPS = frozenset(
    {Step.RESOLVED, Step.RESULT_RETURNED, Step.STOPPED, Step.NOT_ACCEPTED, Step.WITHDRAWN}
)
"""Where a dossier's case is over: decided, or withdrawn or stopped. The personal data
kept for it is erased a set time after (``motcua.services.intake.personal_data``)."""

RECEIVED_STEP = Step.RECEIVED
"""Where a dossier received at the counter starts, its legal clock running."""

SUBMITTED_STEP = Step.REGISTERED
"""Where a dossier filed online by the citizen waits for a clerk to accept it (the
clock starts at acceptance, Op.ACCEPT) or not (Op.NOT_ACCEPT)."""

TRANSITIONS: Mapping[Op, tuple[frozenset[Step], Step]] = {
    Op.ACCEPT: (frozenset({Step.REGISTERED}), Step.RECEIVED),
    Op.NOT_ACCEPT: (frozenset({Step.REGISTERED}), Step.NOT_ACCEPTED),
    Op.ASSIGN: (_WORKING, Step.PROCESSING),
    Op.REQUEST_SUPPLEMENT: (_WORKING, Step.SUPPLEMENT_REQUESTED),
    Op.PROVIDE_SUPPLEMENT: (frozenset({Step.SUPPLEMENT_REQUESTED}), Step.PROCESSING),
    Op.NOTIFY_FINANCIAL_OBLIGATION: (_WORKING, Step.FINANCIAL_OBLIGATION),
    Op.FULFIL_FINANCIAL_OBLIGATION: (frozenset({Step.FINANCIAL_OBLIGATION}), Step.PROCESSING),
    # Same-day procedures (a certified copy) are resolved at the counter without assignment.
    Op.RESOLVE: (_WORKING, Step.RESOLVED),
    Op.RETURN_RESULT: (frozenset({Step.RESOLVED}), Step.RESULT_RETURNED),
    # A citizen may withdraw while the clock is paused on them, or before acceptance.
    Op.WITHDRAW: (_WORKING | _PAUSED | {Step.REGISTERED}, Step.WITHDRAWN),
    Op.STOP: (_WORKING | _PAUSED, Step.STOPPED),
    # Liên thông: sent to another agency and back. The clock keeps running meanwhile
    # (no pause is provided for it), so these are working steps like processing.
    Op.TRANSFER: (
        frozenset({Step.RECEIVED, Step.PROCESSING, Step.RETURNED_FOR_REWORK}),
        Step.TRANSFERRED,
    ),
    Op.TRANSFER_BACK: (frozenset({Step.TRANSFERRED}), Step.PROCESSING),
    # A leader sends the officer's work back to be done again; the clock runs on.
    Op.RETURN_FOR_REWORK: (frozenset({Step.PROCESSING}), Step.RETURNED_FOR_REWORK),
}
"""operation -> (steps it may start from, step it leads to)."""

APPOINTMENT_CHANGED = "appointment.changed"
"""The history entry of an appointment date moved by the legal clock (no status change)."""


# -------------------------------------------------------------------- statuses


@dataclass(frozen=True)
class StatusInfo:
    """One step of the national status list."""

    code: int
    key: Step
    name_vi: str
    name_en: str
    clock: Clock
    portal: int
    """The national portal's code for this status (docs/portal-statuses.md)."""


class StatusList:
    """The 10-step list, by code and by key; validated to cover every ``Step``."""

    def __init__(self, statuses: Iterable[StatusInfo]) -> None:
        items = list(statuses)
        self.by_code = {s.code: s for s in items}
        self.by_key = {s.key: s for s in items}
        if len(self.by_code) != len(items) or len(self.by_key) != len(items):
            raise ValueError("status codes and keys must be unique")
        missing = set(Step) - set(self.by_key)
        if missing:
            raise ValueError(f"status list lacks {sorted(missing)}")

    def all(self) -> list[StatusInfo]:
        return sorted(self.by_code.values(), key=lambda s: s.code)

    def code(self, key: Step) -> int:
        return self.by_key[key].code

    def info(self, code: int) -> StatusInfo:
        try:
            return self.by_code[code]
        except KeyError:
            raise ValueError(f"unknown status code {code}") from None


class Lifecycle:
    """The transition table applied to status codes of one :class:`StatusList`."""

    def __init__(self, statuses: StatusList) -> None:
        self.statuses = statuses

    @property
    def received(self) -> int:
        return self.statuses.code(RECEIVED_STEP)

    @property
    def submitted(self) -> int:
        return self.statuses.code(SUBMITTED_STEP)

    def allowed(self, code: int) -> list[Op]:
        """The operations allowed from status ``code``, in table order."""
        step = self.statuses.info(code).key
        return [op for op, (sources, _) in TRANSITIONS.items() if step in sources]

    def next_status(self, op: Op, code: int) -> int:
        """The status ``op`` leads to from ``code``, or :class:`InvalidTransition`."""
        sources, target = TRANSITIONS[op]
        current = self.statuses.info(code)
        if current.key not in sources:
            raise InvalidTransition(op, current, self.allowed(code))
        return self.statuses.code(target)


# ------------------------------------------------------------------- identity

SECRET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
SECRET_LENGTH = 10  # 50 bits; with rate-limited lookups, guessing gets nowhere
_SECRET_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NOT_CODE = re.compile(r"[^A-Z0-9]+")


def new_secret() -> str:
    """A random lookup secret, grouped for reading aloud: ``K7Q2M-9XD4T``."""
    bits = int.from_bytes(secrets.token_bytes(7), "big")  # one read of 56 bits, 50 used
    return format_secret(
        "".join(SECRET_ALPHABET[(bits >> (5 * i)) & 31] for i in range(SECRET_LENGTH))
    )


def format_secret(text: str) -> str:
    raw = normalise_secret(text)
    return f"{raw[:5]}-{raw[5:]}"


def normalise_secret(text: str) -> str:
    """What a citizen typed, as the canonical secret: case, spaces, dashes and the
    look-alike letters O/I/L do not matter."""
    return "".join(c for c in text.upper().translate(_SECRET_FIXES) if c in SECRET_ALPHABET)


# The stored lookup hash. A secret has 50 bits: a plain hash of it in a database dump is
# cracked offline in hours, so the stored value is keyed with a pepper the database does
# not hold: HMAC(pepper, SHA-256 of the secret), after a version byte. The inner hash is
# the one stored before the pepper existed, so an old row is brought over by keying its
# stored value (``pepper_hash``), without its secret; until that is done a row of the
# old form (32 bytes, no version byte) is still compared as it was.
PEPPERED = b"\x02"
_LEGACY_LENGTH = 32


def _unpeppered(secret: str) -> bytes:
    return hashlib.sha256(b"motcua-lookup-v1:" + normalise_secret(secret).encode()).digest()


def pepper_hash(unpeppered: bytes, pepper: bytes) -> bytes:
    """The stored form of a hash of before the pepper."""
    return PEPPERED + hmac.digest(pepper, unpeppered, "sha256")


def hash_secret(secret: str, pepper: bytes) -> bytes:
    return pepper_hash(_unpeppered(secret), pepper)


def is_unpeppered(stored_hash: bytes) -> bool:
    return len(stored_hash) == _LEGACY_LENGTH


def secret_matches(given: str, stored_hash: bytes | None, pepper: bytes) -> bool:
    """Constant-time check of a typed secret against a stored hash (``None``: no dossier).
    An unknown code is compared against a dummy, so both failures cost the same."""
    if stored_hash is not None and is_unpeppered(stored_hash):
        return hmac.compare_digest(_unpeppered(given), stored_hash)
    expected = stored_hash or hash_secret("0" * SECRET_LENGTH, pepper)
    ok = hmac.compare_digest(hash_secret(given, pepper), expected)
    return ok and stored_hash is not None


def center_code(center_id: str, overrides: Mapping[str, str]) -> str:
    """The center's part of a dossier code: a configured short code, else its id."""
    short = overrides.get(center_id) or _NOT_CODE.sub("", center_id.upper()) or "X"
    return short[:32]


def code_prefix(center: str, local_day: date) -> str:
    """Codes of one center and one local day share a prefix and one sequence."""
    return f"{center}-{local_day:%Y%m%d}"


def dossier_code(prefix: str, sequence: int) -> str:
    """``NC-20260302-0007``: center, local date of receipt, sequence of the day."""
    return f"{prefix}-{sequence:04d}"


def normalise_code(text: str) -> str:
    return text.strip().upper()


# ----------------------------------------------------------------------- time


def effective_time(
    requested: datetime, *, now: datetime, not_before: datetime | None, grace: timedelta
) -> datetime:
    """The business time of a change: as requested, but never before the dossier's
    last change (a lagging clerk clock must not reorder history) and never in the
    future beyond ``grace``, which is refused."""
    if requested > now + grace:
        raise InvalidInput("the time of the change is in the future", field="issued_at")
    if not_before is not None and requested < not_before:
        return not_before
    return requested


def is_backdated(requested: datetime, *, now: datetime, grace: timedelta) -> bool:
    """Whether ``requested`` is far enough in the past to be a backdated entry."""
    return requested < now - grace
