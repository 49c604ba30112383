"""Citizen contacts and the signed links in messages (pure: no I/O).

A contact is normalised once (E.164 for phones, via ``phonenumbers``) and then
known elsewhere only by its *recipient reference*: a keyed HMAC that events,
logs and opt-out links carry instead of the number or address.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from motcua.services.notify.domain import ContactKind
from motcua.shared.crypto import derive_key


class InvalidContact(ValueError):
    """A phone number or e-mail address that cannot be used (the reason names why)."""


class InvalidToken(ValueError):
    """A link token that is malformed, forged or of another kind."""


@dataclass(frozen=True)
class Contact:
    """A usable contact: normalised address, its reference and the citizen's language."""

    kind: ContactKind
    address: str
    ref: str
    language: str


# A Vietnamese number written as intake sends it (E.164) or as it is dialled at home
# (a leading 0), digits only. ``phonenumbers.parse`` makes of it what this reads:
# country code 84, the digits after the prefix as the national number (the prefix 0
# is stripped, since no number of the plan starts with 0). Reading it here costs a
# small part of a parse, once per receipt.
_VN_PLAIN = re.compile(r"(?:\+84|0)([1-9][0-9]{6,9})")


# Every ticket event may carry the kiosk's contact again: a number seen lately is not
# parsed again. Bounded; refusals raise, so they are never kept.
@functools.lru_cache(maxsize=4096)
def normalise_phone(raw: str, region: str = "VN") -> str:
    """A valid phone number in E.164 form (``+84901234567``), or ``InvalidContact``."""
    plain = _VN_PLAIN.fullmatch(raw) if region == "VN" else None
    if plain is not None:
        number = phonenumbers.PhoneNumber(country_code=84, national_number=int(plain[1]))
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _parsed_phone(raw, region)  # anything else, and every refusal: as parsed


def _parsed_phone(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidContact("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")


def normalise_email(raw: str) -> str:
    """A plausible e-mail address with its domain in lower case, or ``InvalidContact``."""
    text = raw.strip()
    if len(text) > 254 or not _EMAIL.match(text):
        raise InvalidContact("not an e-mail address")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise(kind: ContactKind, raw: str) -> str:
    return normalise_phone(raw) if kind == "phone" else normalise_email(raw)


@functools.lru_cache(maxsize=16)
def _derive_legacy(secret: str, purpose: bytes) -> bytes:
    """The derivation of before HKDF. Recipient references keep it: an opt-out is kept
    only as its reference, so a new derivation would forget every opt-out. (The key
    under it is checked to be 32 random bytes at least, outside dev mode.)"""
    return hashlib.sha256(b"motcua-notify:" + purpose + b":" + secret.encode()).digest()


def recipient_ref(secret: str, kind: ContactKind, address: str) -> str:
    """Opaque, stable reference of a normalised contact (32 hex digits after ``r_``)."""
    key = _derive_legacy(secret, b"recipient")
    mac = hmac.digest(key, f"{kind}:{address}".encode(), "sha256")
    return "r_" + mac[:16].hex()


def mask(address: str) -> str:
    """What a screen may show of a contact: ``+84*******567``, ``ng***@example.vn``."""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:2]}***@{domain}"
    return address[:3] + "*" * max(len(address) - 6, 3) + address[-3:]


# ----------------------------------------------------------------- link tokens
# Short enough for an SMS: a one-letter purpose, 16 bytes of subject, a 12-byte MAC.

_MAC_BYTES = 12


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise InvalidToken("malformed token") from None


def _sign_with(key: bytes, purpose: str, subject: bytes) -> str:
    mac = hmac.digest(key, purpose.encode() + subject, "sha256")
    return purpose + _b64(subject + mac[:_MAC_BYTES])


def _sign(secret: str, purpose: str, subject: bytes) -> str:
    return _sign_with(derive_key(secret, "motcua-notify-links"), purpose, subject)


def _open(secrets: str | Sequence[str], purpose: str, token: str) -> bytes:
    """The subject of a link signed under any of ``secrets``: links already sent stay
    good after the link key rotates, and those signed before HKDF too."""
    secrets = [secrets] if isinstance(secrets, str) else secrets
    if not token.startswith(purpose) or len(token) > 64:
        raise InvalidToken("not a token of this kind")
    raw = _unb64(token[len(purpose) :])
    subject = raw[:-_MAC_BYTES]
    keys = [derive_key(s, "motcua-notify-links") for s in secrets]
    keys += [_derive_legacy(s, b"links") for s in secrets]
    if not any(hmac.compare_digest(_sign_with(k, purpose, subject), token) for k in keys):
        raise InvalidToken("invalid token")
    return subject


def opt_out_token(secret: str, ref: str) -> str:
    return _sign(secret, "o", bytes.fromhex(ref.removeprefix("r_")))


def read_opt_out_token(secrets: str | Sequence[str], token: str) -> str:
    """The recipient reference an opt-out link stands for."""
    subject = _open(secrets, "o", token)
    if len(subject) != 16:
        raise InvalidToken("malformed token")
    return "r_" + subject.hex()


def feedback_token(secret: str, dossier_id: uuid.UUID) -> str:
    return _sign(secret, "f", dossier_id.bytes)


def read_feedback_token(secrets: str | Sequence[str], token: str) -> uuid.UUID:
    """The dossier a rating link belongs to."""
    subject = _open(secrets, "f", token)
    if len(subject) != 16:
        raise InvalidToken("malformed token")
    return uuid.UUID(bytes=subject)
