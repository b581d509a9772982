"""The upstream address guard and the client's refusals (no server, no database)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from capabilities_app.core.errors import UpstreamForbidden, UpstreamUnreachable
from capabilities_app.runtime import guard as address_guard
from capabilities_app.runtime import upstream
from capabilities_app.runtime.guard import AddressGuard, is_public, parse_networks

ip = ipaddress.ip_address
LOOPBACK_V4 = parse_networks(["127.0.0.0/8"])

NON_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.1.2.3",
    "10.0.0.1",  # RFC 1918
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.10",
    "169.254.0.1",  # link-local
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT 100.64.0.0/10
    "100.127.255.254",
    "0.0.0.0",  # noqa: S104 - unspecified, not a bind
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",  # IPv6 loopback
    "::",
    "fc00::1",  # unique local
    "fd12:3456:789a::1",
    "fe80::1",  # link-local
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "ff02::1",
    "ff0e::1",  # global-scope IPv6 multicast
    "2001:db8::1",  # documentation
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2606:4700::1111"]


class TestIsPublic:
    @pytest.mark.parametrize("address", NON_PUBLIC)
    def test_non_public(self, address):
        assert not is_public(ip(address))

    @pytest.mark.parametrize("address", PUBLIC)
    def test_public(self, address):
        assert is_public(ip(address))

    def test_ipv4_mapped_public_address_is_public(self):
        assert is_public(ip("::ffff:8.8.8.8"))


class TestAllows:
    @pytest.mark.parametrize("address", NON_PUBLIC)
    def test_non_public_refused_by_default(self, address):
        assert not AddressGuard().allows(ip(address))

    @pytest.mark.parametrize("address", PUBLIC)
    def test_public_allowed(self, address):
        assert AddressGuard().allows(ip(address))
        assert AddressGuard(LOOPBACK_V4).allows(ip(address))

    def test_allowed_network_opens_only_itself(self):
        guard = AddressGuard(LOOPBACK_V4)
        assert guard.allows(ip("127.0.0.1"))
        assert guard.allows(ip("127.255.0.9"))
        assert not guard.allows(ip("10.0.0.1"))
        assert not guard.allows(ip("169.254.169.254"))
        assert not guard.allows(ip("::1"))

    def test_ipv4_mapped_loopback_stays_refused(self):
        # Without an IPv6 network allowed, the mapped form is not let through.
        assert not AddressGuard().allows(ip("::ffff:127.0.0.1"))
        assert not AddressGuard(parse_networks(["10.0.0.0/8"])).allows(ip("::ffff:127.0.0.1"))

    def test_several_networks_and_ipv6(self):
        guard = AddressGuard(parse_networks(["10.1.0.0/16", "fd00::/8"]))
        assert guard.allows(ip("10.1.2.3"))
        assert not guard.allows(ip("10.2.0.1"))
        assert guard.allows(ip("fd00::5"))
        assert not guard.allows(ip("fe80::1"))


class TestParseNetworks:
    def test_networks(self):
        assert parse_networks(["127.0.0.0/8", " 10.0.0.0/8 ", "::1/128"]) == (
            ipaddress.ip_network("127.0.0.0/8"),
            ipaddress.ip_network("10.0.0.0/8"),
            ipaddress.ip_network("::1/128"),
        )

    def test_blank_entries_are_skipped(self):
        assert parse_networks(["", "  ", "192.168.0.0/16"]) == (
            ipaddress.ip_network("192.168.0.0/16"),
        )
        assert parse_networks([]) == ()

    def test_host_bits_are_accepted(self):
        assert parse_networks(["10.1.2.3/8"]) == (ipaddress.ip_network("10.0.0.0/8"),)

    def test_single_address(self):
        (network,) = parse_networks(["169.254.169.254"])
        assert network.num_addresses == 1

    def test_invalid_entry_is_an_error(self):
        with pytest.raises(ValueError):
            parse_networks(["not-a-network"])


class TestResolve:
    def test_localhost_is_forbidden_by_default(self):
        with pytest.raises(UpstreamForbidden) as exc:
            AddressGuard().resolve("localhost", 80)
        assert exc.value.code == "upstream_forbidden"
        assert exc.value.status == 403
        assert "localhost" in exc.value.detail
        assert "REGISTRY_UPSTREAM_ALLOWED_NETWORKS" in exc.value.detail

    def test_localhost_is_allowed_with_loopback(self):
        assert ip(AddressGuard(LOOPBACK_V4).resolve("localhost", 80)).is_loopback

    @pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "::1"])
    def test_literal_non_public_addresses_are_forbidden(self, host):
        with pytest.raises(UpstreamForbidden):
            AddressGuard().resolve(host, 443)

    def test_literal_public_address_resolves_to_itself(self):
        assert AddressGuard().resolve("93.184.215.14", 443) == "93.184.215.14"

    def test_unresolvable_host_is_unreachable(self):
        with pytest.raises(UpstreamUnreachable) as exc:
            AddressGuard(LOOPBACK_V4).resolve("no-such-host.invalid", 80)
        assert exc.value.code == "upstream_unreachable"
        assert exc.value.status == 502
        assert "no-such-host.invalid" in exc.value.detail

    def test_first_allowed_address_of_several_is_used(self, monkeypatch):
        infos = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 80)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", 80, 0, 2)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)),
        ]
        monkeypatch.setattr(address_guard.socket, "getaddrinfo", lambda *a, **k: infos)
        assert AddressGuard().resolve("mixed.example", 80) == "93.184.215.14"

    def test_rebinding_to_metadata_is_forbidden(self, monkeypatch):
        infos = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        monkeypatch.setattr(address_guard.socket, "getaddrinfo", lambda *a, **k: infos)
        with pytest.raises(UpstreamForbidden, match=r"169\.254\.169\.254"):
            AddressGuard(LOOPBACK_V4).resolve("rebind.example", 80)

    def test_scoped_ipv6_address_is_allowed_by_its_network(self, monkeypatch):
        infos = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", 80, 0, 2))]
        monkeypatch.setattr(address_guard.socket, "getaddrinfo", lambda *a, **k: infos)
        guard = AddressGuard(parse_networks(["fe80::/10"]))
        assert guard.resolve("link.example", 80) == "fe80::1"


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_connect(monkeypatch):
    """Fail the test if anything opens a TCP connection."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


class TestClient:
    def test_loopback_is_forbidden_without_connecting(self, no_connect):
        client = upstream.Client(upstream.Settings(allowed_networks=()))
        try:
            with pytest.raises(UpstreamForbidden) as exc:
                client.send(upstream.Request("GET", "http://127.0.0.1:9/"))
        finally:
            client.close()
        assert exc.value.code == "upstream_forbidden"
        assert exc.value.status == 403
        assert no_connect == []

    @pytest.mark.parametrize(
        "url",
        [
            "http://localhost:9/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:9/",
            "http://[::ffff:127.0.0.1]:9/",
            "https://10.0.0.1/",
        ],
    )
    def test_other_non_public_targets_are_forbidden(self, url, no_connect):
        client = upstream.Client(upstream.Settings(allowed_networks=()))
        try:
            with pytest.raises(UpstreamForbidden):
                client.send(upstream.Request("POST", url, content=b"{}"))
        finally:
            client.close()
        assert no_connect == []

    def test_allowed_network_with_a_closed_port_is_unreachable(self):
        port = closed_port()
        client = upstream.Client(upstream.Settings(allowed_networks=LOOPBACK_V4, timeout=5))
        try:
            with pytest.raises(UpstreamUnreachable) as exc:
                client.send(upstream.Request("GET", f"http://127.0.0.1:{port}/ships"))
        finally:
            client.close()
        assert exc.value.code == "upstream_unreachable"
        assert exc.value.status == 502
        assert f"127.0.0.1:{port}" in exc.value.detail

    def test_unresolvable_host_is_unreachable(self):
        client = upstream.Client(upstream.Settings(allowed_networks=LOOPBACK_V4))
        try:
            with pytest.raises(UpstreamUnreachable):
                client.send(upstream.Request("GET", "http://no-such-host.invalid/"))
        finally:
            client.close()

    @pytest.mark.parametrize(
        "url", ["http://registry.example:port/", "http://[zz]/", "http://93.184.215.14/a\x00b"]
    )
    def test_invalid_url_is_a_registry_error(self, url, no_connect):
        client = upstream.Client(upstream.Settings(allowed_networks=()))
        try:
            with pytest.raises(UpstreamUnreachable) as exc:
                client.send(upstream.Request("GET", url))
        finally:
            client.close()
        assert exc.value.status == 502
        assert "not valid" in exc.value.detail
        assert no_connect == []
