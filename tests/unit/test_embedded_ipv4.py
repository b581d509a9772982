"""IPv6 addresses that embed an IPv4 address are judged by that address too (issue 9 point 14).

Python 3.11's ``is_global`` calls most of these forms global (NAT64 ``64:ff9b::/96`` and
``64:ff9b:1::/48``, 6to4 ``2002::/16``, IPv4-compatible ``::a.b.c.d``, IPv4-translated
``::ffff:0:a.b.c.d``), whatever IPv4 address they carry; Teredo (``2001::/32``) it calls
non-global. The guard refuses an address unless both the IPv6 address itself and every
IPv4 address it embeds are public.
"""

from __future__ import annotations

import ipaddress

import pytest

from capabilities_app.runtime.guard import AddressGuard, is_public, parse_networks

NON_PUBLIC_V4 = ["127.0.0.1", "10.0.0.1", "169.254.169.254"]
PUBLIC_V4 = "8.8.8.8"


def forms(v4: str) -> dict[str, str]:
    """Every IPv6 form of ``v4`` the guard knows."""
    value = int(ipaddress.IPv4Address(v4))
    high, low = value >> 16, value & 0xFFFF
    return {
        "nat64": f"64:ff9b::{high:x}:{low:x}",
        "nat64-local": f"64:ff9b:1::{high:x}:{low:x}",
        "compatible": f"::{v4}",
        "translated": f"::ffff:0:{v4}",
        "6to4": f"2002:{high:x}:{low:x}::1",
        "mapped": f"::ffff:{v4}",
    }


def teredo(server: str, client: str) -> str:
    """A Teredo address: server, flags, obfuscated port and obfuscated client address."""
    client_bits = int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    value = (
        (0x20010000 << 96)
        | (int(ipaddress.IPv4Address(server)) << 64)
        | (0x8000 << 48)
        | ((0x1234 ^ 0xFFFF) << 32)
        | client_bits
    )
    return str(ipaddress.IPv6Address(value))


EMBEDDED_NON_PUBLIC = [
    pytest.param(address, id=f"{kind}-{v4}")
    for v4 in NON_PUBLIC_V4
    for kind, address in forms(v4).items()
]
EMBEDDED_PUBLIC = [pytest.param(address, id=kind) for kind, address in forms(PUBLIC_V4).items()]


def test_the_forms_carry_the_address_they_say():
    """Issue 9 point 14: the test's own encodings are right (checked with ipaddress)."""
    assert ipaddress.ip_address(forms("127.0.0.1")["6to4"]).sixtofour == ipaddress.ip_address(
        "127.0.0.1"
    )
    assert ipaddress.ip_address(forms("10.0.0.1")["mapped"]).ipv4_mapped == ipaddress.ip_address(
        "10.0.0.1"
    )
    assert ipaddress.ip_address(teredo("8.8.8.8", "127.0.0.1")).teredo == (
        ipaddress.ip_address("8.8.8.8"),
        ipaddress.ip_address("127.0.0.1"),
    )


@pytest.mark.parametrize("address", EMBEDDED_NON_PUBLIC)
def test_an_ipv6_form_of_a_non_public_ipv4_address_is_not_public(address):
    """Issue 9 point 14: NAT64, 6to4, IPv4-compatible, -translated and -mapped forms of
    127.0.0.1, 10.0.0.1 and 169.254.169.254 are refused."""
    assert not is_public(ipaddress.ip_address(address))
    assert not AddressGuard().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", EMBEDDED_PUBLIC)
def test_an_ipv6_form_of_a_public_ipv4_address_is_public(address):
    """Issue 9 point 14: the same forms of a public IPv4 address are allowed."""
    assert is_public(ipaddress.ip_address(address))
    assert AddressGuard().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("client", [*NON_PUBLIC_V4, PUBLIC_V4])
def test_teredo_addresses_are_refused(client):
    """Issue 9 point 14: Teredo (2001::/32) is not global in Python 3.11, whatever it
    carries; a non-public server or client address is refused in any case."""
    assert not is_public(ipaddress.ip_address(teredo("8.8.8.8", client)))
    assert not is_public(ipaddress.ip_address(teredo(client, "8.8.8.8")))


@pytest.mark.parametrize("address", EMBEDDED_NON_PUBLIC)
def test_allowed_ipv4_networks_match_only_the_literal_address(address):
    """Issue 9 point 14: allowing 127.0.0.0/8, 10.0.0.0/8 and 169.254.0.0/16 allows those
    IPv4 addresses, not their IPv6 forms."""
    guard = AddressGuard(parse_networks(["127.0.0.0/8", "10.0.0.0/8", "169.254.0.0/16"]))
    assert not guard.allows(ipaddress.ip_address(address))
    for v4 in NON_PUBLIC_V4:
        assert guard.allows(ipaddress.ip_address(v4))


def test_an_allowed_ipv6_network_still_opens_itself():
    """Issue 9 point 14: an operator who allows a NAT64 prefix gets it (the literal match)."""
    guard = AddressGuard(parse_networks(["64:ff9b::/96"]))
    assert guard.allows(ipaddress.ip_address("64:ff9b::a00:1"))
