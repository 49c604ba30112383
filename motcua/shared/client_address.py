"""Who is asking: the client address that per-client limits key on.

Behind a reverse proxy every request arrives from the proxy, which appends the address it
saw to ``X-Forwarded-For``. Anything to the left of what our own proxies appended was
written by the client and proves nothing: a limit keyed on the first entry gives every
request that adds a header a fresh bucket. So the header is read from the right, skipping
only the hops that are our configured proxies (``MOTCUA_TRUSTED_PROXIES``); the first
address that is not one of them is the client. With no trusted proxy, the header is
ignored altogether.

An IPv6 client holds a whole /64 (one subscriber's prefix), so it is keyed by its /64:
otherwise each of its 2^64 addresses would be a fresh bucket.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1"`` as networks; a ``ValueError`` names the bad entry."""
    networks = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in proxies)


def resolve(peer: str, forwarded_for: str, proxies: Sequence[Network]) -> str:
    """The client's address: the right-most hop that is not a trusted proxy."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    # Every hop is ours (a health check from inside): the left-most one asked.
    return hops[0] if hops else peer


def limit_key(address: str) -> str:
    """What a per-client limit counts: the address, or its /64 for IPv6."""
    ip = _ip(address)
    if ip is None:
        return address[:64]  # not an address: still one bounded key, never a crash
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_address(request: HTTPConnection, trusted_proxies: Sequence[Network]) -> str:
    """The client's address as our own proxies saw it."""
    peer = request.client.host if request.client else "unknown"
    return resolve(peer, request.headers.get("x-forwarded-for", ""), trusted_proxies)


def client_key(request: HTTPConnection, trusted_proxies: Sequence[Network]) -> str:
    """The key per-client limits use (``limit_key`` of ``client_address``)."""
    return limit_key(client_address(request, trusted_proxies))


def forwarded_https(request: HTTPConnection, trusted_proxies: Sequence[Network]) -> bool:
    """Whether the client spoke https: the URL says so, or a trusted proxy that
    terminated TLS says so in ``X-Forwarded-Proto``."""
    if request.url.scheme in ("https", "wss"):
        return True
    peer = request.client.host if request.client else ""
    if not _trusted(peer, trusted_proxies):
        return False
    # The right-most value is the one our proxy wrote.
    proto = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return proto == "https"
