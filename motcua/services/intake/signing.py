"""Each center's Ed25519 keys, which sign the verification records of results.

Keys are files: ``<signing_key_dir>/<center_id>/<key_id>.pem`` (PKCS#8, unencrypted;
mount them from a secret). The greatest key id of a center signs (name them by date,
``2026-12``, and a new file rotates the key); every key of the directory stays published
(``GET /v1/centers/{center_id}/signing-keys``) and keeps verifying what it signed, so
retire a key by adding a newer one, never by deleting the old file.

Outside dev mode a center without a key file cannot sign, and the service says so at
start. In dev mode a center without one gets a key made up at start, logged as such:
what it signs verifies only until the process stops.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from motcua.services.intake.errors import InvalidInput
from motcua.shared.logging import get_logger

log = get_logger(__name__)

DEV_KEY_ID = "dev"


class NoSigningKey(InvalidInput):
    """The center has no key to sign a result with."""


@dataclass
class CenterKeys:
    private: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    @property
    def active(self) -> str:
        return max(self.private)


class SigningKeys:
    """The keys of every center this process signs for."""

    def __init__(self, keys: dict[str, CenterKeys], *, dev_mode: bool) -> None:
        self._keys = keys
        self._dev_mode = dev_mode

    @classmethod
    def load(cls, directory: Path | None, *, dev_mode: bool) -> SigningKeys:
        keys: dict[str, CenterKeys] = {}
        if directory is not None:
            for pem in sorted(directory.glob("*/*.pem")):
                private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
                if not isinstance(private, Ed25519PrivateKey):
                    raise ValueError(f"{pem}: not an Ed25519 private key")
                keys.setdefault(pem.parent.name, CenterKeys()).private[pem.stem] = private
        return cls(keys, dev_mode=dev_mode)

    async def announce(self, _: object = None) -> None:
        """Say at start which centers can sign results, and with which key; outside dev
        mode, that none can, if so (attaching a result will be refused)."""
        active = {center: keys.active for center, keys in sorted(self._keys.items())}
        if active:
            log.info("intake.signing_keys", active=active)
        elif not self._dev_mode:
            log.warning(
                "intake.no_signing_keys",
                note="no center can sign results: set MOTCUA_INTAKE_SIGNING_KEY_DIR",
            )

    def _center(self, center_id: str) -> CenterKeys:
        found = self._keys.get(center_id)
        if found is None and self._dev_mode:
            found = CenterKeys({DEV_KEY_ID: Ed25519PrivateKey.generate()})
            self._keys[center_id] = found
            log.warning(
                "intake.signing_key_generated",
                center_id=center_id,
                key_id=DEV_KEY_ID,
                note="dev mode: a key made up for this process; its signatures do not outlive it",
            )
        if found is None:
            raise NoSigningKey(
                f"center {center_id!r} has no signing key (MOTCUA_INTAKE_SIGNING_KEY_DIR)",
                field="center_id",
            )
        return found

    def require(self, center_id: str) -> None:
        """Refuse now, before an upload is read, if the center cannot sign."""
        self._center(center_id)

    def sign(self, center_id: str, data: bytes) -> tuple[str, bytes]:
        """The active key's id and its signature over ``data``."""
        keys = self._center(center_id)
        key_id = keys.active
        return key_id, keys.private[key_id].sign(data)

    def public_keys(self, center_id: str) -> dict[str, bytes]:
        """Every published public key of the center (raw 32 bytes), by key id."""
        keys = self._keys.get(center_id)
        if keys is None:
            return {}
        return {
            kid: k.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            for kid, k in sorted(keys.private.items())
        }

    def active_key_id(self, center_id: str) -> str | None:
        keys = self._keys.get(center_id)
        return keys.active if keys else None

    def verify(self, center_id: str, key_id: str, data: bytes, signature: bytes) -> bool:
        raw = self.public_keys(center_id).get(key_id)
        return raw is not None and verify_with(raw, data, signature)


def verify_with(public_raw: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the key's over ``data``: what a third party does with a
    published key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
