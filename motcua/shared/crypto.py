"""Keys of a deployment: a keyring addressed by key id, and HKDF to derive keys.

A value is sealed with AES-256-GCM under the ring's *current* key; the key id goes
with it (``SealedContact.key_id`` on the bus, a ``<key id>.`` prefix at rest), so
after a rotation old values still open with the key they were sealed under while new
ones use the newest. The caller's context (an event, ticket or dossier id) is bound
as associated data: a sealed value cut from one record and pasted into another does
not open.

Keys are derived from the configured secrets with HKDF-SHA256 (RFC 5869), one per
purpose, so one secret never keys two uses. Values sealed before HKDF (a bare
SHA-256 of the secret, no key id at rest) still open: each key is tried in its old
derivation after the new one. That fallback goes once no such value is left (the
personal-data purge removes them, see docs/security/keys-and-data.md).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
from collections.abc import Mapping
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SALT = b"motcua-hkdf-v1"


class SealError(ValueError):
    """The sealed value is corrupt, forged, or sealed under a key the ring lacks."""


@functools.lru_cache(maxsize=64)
def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from a configured secret (HKDF-SHA256).
    A deployment has a handful of secrets and purposes: each is derived once."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode())
    return hkdf.derive(secret.encode())


@functools.lru_cache(maxsize=64)
def _cipher(key: bytes) -> AESGCM:
    # An AESGCM holds no state between calls: set each key's cipher up once.
    return AESGCM(key)


def _legacy_key(secret: str) -> bytes:
    return hashlib.sha256(b"motcua-contact-v1:" + secret.encode()).digest()


class Sealed(NamedTuple):
    key_id: str
    sealed: str


class Keyring:
    """Keys by id; the current one seals, any of them opens.

    ``purpose`` separates the uses of one ring: values sealed for the bus do not open
    as values sealed at rest, and the other way round."""

    def __init__(self, current_id: str, keys: Mapping[str, str], purpose: str) -> None:
        if current_id not in keys:
            raise ValueError(f"the current key {current_id!r} is not in the keyring")
        for key_id in keys:
            if not KEY_ID.fullmatch(key_id):
                raise ValueError(f"a key id is 1 to 32 letters, digits, - or _: {key_id!r}")
        self.current_id = current_id
        self._secrets = dict(keys)
        self.purpose = purpose

    def _ciphers(self, key_id: str) -> list[AESGCM]:
        secret = self._secrets.get(key_id)
        if secret is None:
            return []
        return [_cipher(derive_key(secret, self.purpose)), _cipher(_legacy_key(secret))]

    def seal(self, plaintext: str, context: str = "") -> Sealed:
        nonce = os.urandom(12)
        cipher = _cipher(derive_key(self._secrets[self.current_id], self.purpose))
        ct = cipher.encrypt(nonce, plaintext.encode(), context.encode())
        return Sealed(self.current_id, base64.urlsafe_b64encode(nonce + ct).decode())

    def open(self, key_id: str | None, sealed: str, context: str = "") -> str:
        """Open a value sealed under ``key_id`` (``None``: from before key ids, so every
        key is tried)."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
        except ValueError as exc:
            raise SealError("cannot open sealed value: not base64") from exc
        ids = [key_id] if key_id is not None else list(self._secrets)
        for cipher in (c for i in ids for c in self._ciphers(i)):
            try:
                return cipher.decrypt(raw[:12], raw[12:], context.encode()).decode()
            except (InvalidTag, ValueError):
                continue
        raise SealError(f"cannot open sealed value (key {key_id!r})")

    def seal_text(self, plaintext: str, context: str = "") -> str:
        """Sealed for storage: ``<key id>.<base64>``, the key id readable in the row."""
        key_id, sealed = self.seal(plaintext, context)
        return f"{key_id}.{sealed}"

    def open_text(self, text: str, context: str = "") -> str:
        """Open what ``seal_text`` made (or a bare value sealed before key ids)."""
        key_id, dot, sealed = text.partition(".")
        return self.open(key_id, sealed, context) if dot else self.open(None, text, context)

    def open_column(self, key_id: str | None, stored: str, context: str = "") -> str:
        """A value kept as (key id column, sealed text): a NULL key id marks one stored
        in clear before the store sealed it, read as it is until it is purged."""
        return stored if key_id is None else self.open(key_id, stored, context)

    def is_current(self, text: str) -> bool:
        """Whether a value from ``seal_text`` is sealed under the current key."""
        return text.startswith(self.current_id + ".")


AT_REST = "motcua-at-rest"
"""Purpose of the contact ring for personal data a service keeps in its own tables."""

BUS = "motcua-contact-bus"
"""Purpose of the contact ring for values sealed for notify (bus events, and intake's
copies of what it publishes)."""


def seal(secret: str, plaintext: str, context: str = "") -> str:
    """Seal for the bus under one secret taken as key ``k1`` (producers with a single
    key, and tests); a service with a ring uses ``Keyring.seal``."""
    return Keyring("k1", {"k1": secret}, BUS).seal(plaintext, context).sealed


def unseal(secret: str, sealed: str, context: str = "") -> str:
    """Open what ``seal`` made (or what was sealed before HKDF) under one secret."""
    return Keyring("k1", {"k1": secret}, BUS).open("k1", sealed, context)
