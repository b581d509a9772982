"""The address guard: which addresses the registry may connect to upstream.

A host is resolved at connection time and the connection goes to the checked address
(``upstream``'s backend calls :meth:`AddressGuard.resolve`), so a name cannot point at
a loopback, private, link-local or otherwise non-public address (DNS rebinding
included; IPv6 forms that embed an IPv4 address are judged by that address too),
unless that network is in ``REGISTRY_UPSTREAM_ALLOWED_NETWORKS``.

Pure Python (``ipaddress``, ``socket``): must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from capabilities_app.core.errors import UpstreamForbidden, UpstreamUnreachable

__all__ = [
    "Address",
    "AddressGuard",
    "Network",
    "embedded_ipv4",
    "is_public",
    "parse_networks",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


# IPv6 ranges whose last 32 bits are an IPv4 address the traffic ends up at.
_LAST_32_BITS_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052)
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # NAT64, local-use prefix (RFC 8215)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765 SIIT)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible, deprecated (RFC 4291)
)


def embedded_ipv4(address: Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo, …)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo  # (server, client)
    if any(address in network for network in _LAST_32_BITS_IPV4):
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def _globally_routable(address: Address) -> bool:
    return address.is_global and not address.is_multicast


def is_public(address: Address) -> bool:
    """True for globally routable unicast addresses.

    An IPv6 address that embeds an IPv4 address is public only when both it and the
    IPv4 address it carries are (Python calls ``64:ff9b::7f00:1`` global; the
    127.0.0.1 inside it is not).
    """
    return _globally_routable(address) and all(
        _globally_routable(inner) for inner in embedded_ipv4(address)
    )


@dataclass
class AddressGuard:
    """Resolves a host and returns an address the registry may connect to."""

    allowed_networks: tuple[Network, ...] = ()

    def allows(self, address: Address) -> bool:
        # Allowed networks match the literal address: allowing 127.0.0.1/32 does not
        # allow ::ffff:127.0.0.1 or 64:ff9b::7f00:1.
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)

    def resolve(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise UpstreamUnreachable(f"cannot resolve upstream host {host!r}") from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if self.allows(address):
                return str(address)
        raise UpstreamForbidden(
            f"upstream host {host!r} resolves to a non-public address "
            f"({infos[0][4][0]}); allow its network in REGISTRY_UPSTREAM_ALLOWED_NETWORKS"
        )
