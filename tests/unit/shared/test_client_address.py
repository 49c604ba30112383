"""The client address per-client limits key on: only our proxies' hops are believed."""

from __future__ import annotations

import pytest

from motcua.shared.client_address import limit_key, parse_networks, resolve

PROXIES = parse_networks("10.0.0.0/8, ::1")


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("198.51.100.7", "1.2.3.4", "198.51.100.7"),  # not via our proxy: header ignored
        ("10.0.0.5", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # spoofed first entry
        ("10.0.0.5", "198.51.100.7, 10.1.1.1", "198.51.100.7"),  # two of our hops
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.9", "10.0.0.9"),  # only our own hops: the left-most
        ("10.0.0.5", "junk, not-an-ip", "not-an-ip"),  # garbage is still the client's
        ("::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_right_most_untrusted_hop_is_the_client(peer: str, header: str, client: str) -> None:
    assert resolve(peer, header, PROXIES) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert resolve("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"


def test_ipv6_clients_are_keyed_by_their_64() -> None:
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9")
    assert limit_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert limit_key("192.0.2.1") == "192.0.2.1"
    assert len(limit_key("x" * 1000)) == 64


def test_a_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks("10.0.0.0/8, 10.0.0.0/33")
