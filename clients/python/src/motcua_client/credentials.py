"""A clerk's credentials: the token the center issued, and what it says about its holder.

A motcua clerk token is ``v1.<claims>.<signature>``: base64url JSON claims signed by
the deployment. The client cannot check the signature (only the servers hold the
secret), but it reads the claims so that a command names the same center and clerk
as the token that proves its author. A command whose ``center_id`` or ``issued_by``
differed from its token would be rejected by intake.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime


class CredentialsError(ValueError):
    """The token cannot be read as a motcua clerk token."""


@dataclass(frozen=True)
class ClerkCredentials:
    """A clerk token and its claims (read, not verified: the servers verify)."""

    token: str = field(repr=False)  # a bearer credential: never in a log line
    center_id: str
    subject: str
    role: str
    expires_at: datetime

    @classmethod
    def from_token(cls, token: str) -> ClerkCredentials:
        token = token.strip().removeprefix("Bearer ").strip()
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            raise CredentialsError("not a motcua token (expected v1.<claims>.<signature>)")
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            return cls(
                token=token,
                center_id=str(claims["c"]),
                subject=str(claims["s"]),
                role=str(claims["r"]),
                expires_at=datetime.fromtimestamp(int(claims["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CredentialsError(f"unreadable token claims: {exc}") from None

    def seconds_left(self, now: datetime | None = None) -> float:
        """How long the token still lives. Intake checks a bus command's token when it
        consumes it, so a token about to expire should be renewed before sending."""
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()

    @property
    def authorization(self) -> str:
        """The HTTP ``Authorization`` header value."""
        return f"Bearer {self.token}"
