"""One-click sign-in for the dev stack: a newcomer reaches the dashboard as a leader and
the counter console as a clerk without making a token.

``motcua dev`` prints links to its landing page (``/sign-in/leader``, ``/sign-in/clerk``);
each click there mints a fresh code and sends the browser on to the service, which
trades the code for an ordinary motcua token, kept the way the page keeps a pasted one.
So no URL ever holds a token: what a URL holds is a code that

* is signed with the deployment's auth secret for this use only (it is no token, and a
  token is no code),
* names the page it opens (a dashboard code does not open the console),
* lives ``CODE_SECONDS``, and
* is spent on first use: the service remembers the codes it took until they expire.

The services mount the route that takes a code only in dev mode (``MOTCUA_DEV_MODE``):
outside it the route does not exist. Spent codes are remembered in the process, which
is enough for the dev stack's one process per service and is why this is dev-only.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from motcua.shared.auth import AuthError, Role, issue_token, read_signed, signed
from motcua.shared.settings import ServiceSettings

PURPOSE = "dev-sign-in"
CODE_SECONDS = 60
"""Long enough for a redirect, short enough that a code in a log or history is stale."""

Target = Literal["dashboard", "counter"]

DEV_USERS: dict[Target, tuple[str, Role]] = {
    "dashboard": ("dev-leader", "leader"),
    "counter": ("dev-clerk", "clerk"),
}
"""Who each link signs in (subject, role)."""


@dataclass(frozen=True)
class DevCode:
    target: Target
    center_id: str
    subject: str
    role: Role
    nonce: str
    expires: int


def mint(secret: str, target: Target, center_id: str, *, now: float | None = None) -> str:
    """A fresh one-time code for the dev user of ``target``."""
    subject, role = DEV_USERS[target]
    claims = {
        "t": target,
        "c": center_id,
        "s": subject,
        "r": role,
        "n": secrets.token_urlsafe(16),
        "e": int(now if now is not None else time.time()) + CODE_SECONDS,
    }
    return "dev1." + signed(secret, PURPOSE, claims)


def read(secret: str, code: str, target: Target, *, now: float | None = None) -> DevCode:
    """The code's content once its signature, page and lifetime hold; ``AuthError``."""
    prefix, _, rest = code.partition(".")
    if prefix != "dev1":
        raise AuthError("not a sign-in code of this stack")
    claims = read_signed(secret, PURPOSE, rest)
    try:
        parsed = DevCode(
            target=claims["t"],
            center_id=str(claims["c"]),
            subject=str(claims["s"]),
            role=claims["r"],
            nonce=str(claims["n"]),
            expires=int(claims["e"]),
        )
    except (ValueError, KeyError, TypeError):
        raise AuthError("malformed sign-in code") from None
    if parsed.target != target:
        raise AuthError(f"this sign-in code opens the {parsed.target}, not the {target}")
    if parsed.expires < (now if now is not None else time.time()):
        raise AuthError("sign-in code expired: open the dev stack's landing page for a new one")
    return parsed


def redeem(
    settings: ServiceSettings, spent: SpentCodes, code: str, target: Target, *, ttl: int
) -> tuple[DevCode, str]:
    """Check and spend ``code``, and issue the motcua token it stands for (``ttl``
    seconds at most, within the deployment's cap); ``AuthError`` why not."""
    secret = settings.auth_secret.get_secret_value()
    taken = read(secret, code, target)
    spent.take(taken)
    ttl = min(ttl, settings.token_max_seconds)
    token = issue_token(
        secret,
        center_id=taken.center_id,
        subject=taken.subject,
        role=taken.role,
        ttl=ttl,
        max_ttl=settings.token_max_seconds,
    )
    return taken, token


class SpentCodes:
    """The codes a process has taken, until they would have expired anyway."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._spent: dict[str, int] = {}
        self._clock = clock

    def take(self, code: DevCode) -> None:
        """Spend ``code``; ``AuthError`` if it was spent before."""
        now = self._clock()
        self._spent = {n: e for n, e in self._spent.items() if e >= now}
        if code.nonce in self._spent:
            raise AuthError("this sign-in code was used already: open the landing page again")
        self._spent[code.nonce] = code.expires
