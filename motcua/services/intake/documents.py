"""Rules of stored documents: limits, media types told by content, file names, and the
verification record of a result. Pure: no I/O (``storage/`` moves the bytes).

* A file's media type is what its first bytes say (magic numbers), never its name;
  a declared type that the content contradicts is refused, so a "PDF" that is really
  an executable never gets in.
* A file name is kept only as a label for the download: its last path segment, with
  control characters and anything outside a conservative set replaced, so it can
  neither climb directories nor break a header.
* A result's verification record holds the dossier code, the center, the issue date
  and the result's hash: nothing personal, so it may be shown to anyone holding the
  paper, and it outlives the purge of the file itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date

from motcua.services.intake.errors import InvalidInput

SNIFF_BYTES = 16
"""How many leading bytes tell every allowed type apart."""

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
ALLOWED_TYPES = (PDF, JPEG, PNG, WEBP, HEIC)


OPTIONAL_MARKS = ("(nếu có)", "(if any)")
"""How the published procedures mark a component the applicant has only in some cases."""


def is_optional(component: dict[str, str]) -> bool:
    """Whether a required component of the catalog is asked for only "if any": the
    filing page lets the citizen leave it out."""
    return any(m in component.get(k, "").lower() for m in OPTIONAL_MARKS for k in ("vi", "en"))


class Refused(InvalidInput):
    """A file the store will not take; ``field`` names the input at fault."""


class TooLarge(Refused):
    """Over the per-file or per-dossier limit (413)."""


class Unsupported(Refused):
    """A media type the store does not take, or content that contradicts it (415)."""


@dataclass(frozen=True)
class Limits:
    """What one file and one dossier may hold."""

    max_file_bytes: int
    max_dossier_bytes: int
    allowed_types: tuple[str, ...] = ALLOWED_TYPES

    def check_declared(self, declared_length: int | None) -> int:
        """Refuse by the declared length, before a byte is read; the length, if taken."""
        if declared_length is None:
            raise Refused("a Content-Length is required for an upload", field="Content-Length")
        if declared_length == 0:
            raise Refused("the file is empty", field="body")
        if declared_length > self.max_file_bytes:
            raise TooLarge(
                f"a file may hold at most {self.max_file_bytes} bytes", field="Content-Length"
            )
        return declared_length

    def check_dossier(self, already: int, declared_length: int) -> None:
        if already + declared_length > self.max_dossier_bytes:
            raise TooLarge(
                f"a dossier may hold at most {self.max_dossier_bytes} bytes of documents "
                f"({already} already)",
                field="Content-Length",
            )

    def check_type(self, declared: str | None, head: bytes) -> str:
        """The media type of a file starting with ``head``: the one its content shows,
        which must be allowed and agree with ``declared``."""
        declared = (declared or "").split(";")[0].strip().lower()
        if declared not in self.allowed_types:
            raise Unsupported(
                f"media type {declared or '(none)'!r} is not accepted; "
                f"accepted: {', '.join(self.allowed_types)}",
                field="Content-Type",
            )
        found = sniff(head)
        if found != declared:
            raise Unsupported(
                f"the content is not {declared} (it looks like {found or 'something else'})",
                field="body",
            )
        return found


def sniff(head: bytes) -> str | None:
    """The allowed media type the first bytes of a file show, if any."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return HEIC
    return None


_UNSAFE = re.compile(r"[^\w.\- ()]+")
_MAX_NAME = 120


def safe_file_name(raw: str | None, media_type: str) -> str:
    """A label for the download: the last segment of ``raw`` with control characters,
    separators and other unsafe characters replaced, never empty, never a dot-name."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c if unicodedata.category(c)[0] != "C" else "_" for c in name)
    name = _UNSAFE.sub("_", name).strip(" .")[:_MAX_NAME]
    return name or f"document{EXTENSIONS.get(media_type, '')}"


EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", WEBP: ".webp", HEIC: ".heic"}


def component_of(required: list[dict[str, str]], component: int) -> str:
    """The name of component ``component`` (1-based) of a procedure's required list,
    as it stood when the dossier was received; refused if the procedure asks for none
    such."""
    if not 1 <= component <= len(required):
        raise Refused(
            f"the procedure asks for {len(required)} components; there is no component {component}",
            field="component",
        )
    return required[component - 1]["vi"]


# ---------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerificationRecord:
    """What a center's signature on a result vouches for."""

    dossier_code: str
    center_id: str
    issued_on: date
    result_sha256: str  # hex

    def canonical(self) -> bytes:
        """The exact bytes signed: sorted-key compact JSON, versioned."""
        return json.dumps(
            {
                "v": 1,
                "dossier_code": self.dossier_code,
                "center_id": self.center_id,
                "issued_on": self.issued_on.isoformat(),
                "result_sha256": self.result_sha256,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def parse(cls, raw: bytes) -> VerificationRecord:
        data = json.loads(raw)
        return cls(
            dossier_code=data["dossier_code"],
            center_id=data["center_id"],
            issued_on=date.fromisoformat(data["issued_on"]),
            result_sha256=data["result_sha256"],
        )


# ------------------------------------------------------------ download tokens

_TOKEN_MAC_BYTES = 16


def download_token(key: bytes, dossier_id: uuid.UUID, sha256: bytes, expires: int) -> str:
    """A short-lived token for one download from the lookup page: the page proved the
    secret once, and hands the citizen this instead of echoing the secret back into the
    page. ``expires`` is a Unix time."""
    body = dossier_id.bytes + sha256 + expires.to_bytes(8, "big")
    mac = hmac.new(key, body, hashlib.sha256).digest()[:_TOKEN_MAC_BYTES]
    return _b64(body + mac)


def open_download_token(key: bytes, token: str, now: int) -> tuple[uuid.UUID, bytes] | None:
    """The dossier and hash a token names, or ``None`` when it is forged, damaged or
    expired (all alike)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 16 + 32 + 8 + _TOKEN_MAC_BYTES:
        return None
    body, mac = raw[:-_TOKEN_MAC_BYTES], raw[-_TOKEN_MAC_BYTES:]
    expected = hmac.new(key, body, hashlib.sha256).digest()[:_TOKEN_MAC_BYTES]
    if not hmac.compare_digest(mac, expected) or int.from_bytes(body[48:], "big") < now:
        return None
    return uuid.UUID(bytes=body[:16]), body[16:48]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
