"""Seal citizen contacts for the bus, so that only the notify service reads them.

AES-256-GCM with a key derived from the deployment's contact key. The event id
(or any caller-chosen context) is bound as associated data, so a sealed contact
cannot be cut from one event and pasted into another.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SealError(ValueError):
    """The sealed value is corrupt, forged, or sealed under another key."""


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"motcua-contact-v1:" + secret.encode()).digest()


# A deployment has a key or two, and every receipt is opened with one: derive it and
# set the cipher up once (an AESGCM holds no state between calls).
@functools.lru_cache(maxsize=8)
def _cipher(secret: str) -> AESGCM:
    return AESGCM(_key(secret))


def seal(secret: str, plaintext: str, context: str = "") -> str:
    nonce = os.urandom(12)
    ct = _cipher(secret).encrypt(nonce, plaintext.encode(), context.encode())
    return base64.urlsafe_b64encode(nonce + ct).decode()


def unseal(secret: str, sealed: str, context: str = "") -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return _cipher(secret).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise SealError("cannot open sealed contact") from exc
