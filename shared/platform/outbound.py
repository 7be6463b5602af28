"""The outbound address guard: every URL or host the service reaches on a tenant's say-so (a
notification's webhook or SMTP server, an account's endpoint override) must be public, unless the
operator allow-lists it (POLICYCORTEX_OUTBOUND_ALLOWLIST)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class BlockedDestination(ValueError):
    """An outbound URL or host that notifications must not reach (not public, not allow-listed)."""


class BadAllowlistEntry(ValueError):
    """An allow-list entry that is neither a host name, an address nor a CIDR."""


Resolver = Callable[[str, int], list[str]]
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$")


# IPv6 ranges whose addresses embed an IPv4 one (RFC 6052 NAT64, RFC 3056 6to4, RFC 4380 Teredo,
# RFC 4291 IPv4-compatible and -mapped, RFC 2765 IPv4-translated); RFC 8215's local-use NAT64
# prefix is the operator's own network, never public.
NAT64 = ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ip_network("::/96")
IPV4_TRANSLATED = ip_network("::ffff:0:0:0/96")
LOCAL_TRANSLATION = (ip_network("64:ff9b:1::/48"),)


def embedded_ipv4(ip: IPv6Address) -> list[IPv4Address]:
    """Every IPv4 address an IPv6 address carries (none for a plain IPv6 address)."""
    found: list[IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client)
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64 or ip in IPV4_TRANSLATED or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        found.append(low32)
    if (int(ip) >> 32) & 0xFDFFFFFF == 0x00005EFE:  # ISATAP interface id (::0:5efe:a.b.c.d, ::200:5efe:...)
        found.append(low32)
    return found


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


@dataclass(frozen=True)
class OutboundGuard:
    """Refuses destinations that resolve to private, loopback, link-local, multicast or otherwise
    non-public addresses, unless the host name or the address is allow-listed. A tenant controls
    its webhook URL and its DNS, so every address a name resolves to is checked, and the address
    actually connected to is checked again (DNS may answer differently the second time)."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_allowlist(cls, entries: Iterable[str], resolver: Resolver = system_resolver) -> OutboundGuard:
        hosts: set[str] = set()
        networks: list[IPv4Network | IPv6Network] = []
        for entry in entries:
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                name = entry.lower().rstrip(".")
                if not HOSTNAME.match(name):
                    raise BadAllowlistEntry(
                        f"entry {entry!r} is neither a host name, an address nor a CIDR"
                    ) from None
                hosts.add(name)
        return cls(frozenset(hosts), tuple(networks), resolver)

    def address_allowed(self, address: str) -> bool:
        ip = ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
        if any(ip in network for network in self.allowed_networks):
            return True
        embedded = embedded_ipv4(ip) if ip.version == 6 else []
        if embedded:
            # An IPv6 form that carries an IPv4 address reaches that address: judge it instead.
            return all(self.address_allowed(str(inner)) for inner in embedded)
        return ip.is_global and not ip.is_multicast and not any(ip in net for net in LOCAL_TRANSLATION)

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts

    def check_host(self, host: str, port: int) -> None:
        """Raise BlockedDestination unless every address `host` resolves to may be reached."""
        if self.host_allowed(host):
            return
        literal = host.strip("[]")
        try:
            ip_address(literal.split("%", 1)[0])
        except ValueError:
            pass
        else:
            if not self.address_allowed(literal):
                raise BlockedDestination(f"{literal} is not a public address")
            return
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError):
            raise BlockedDestination(f"{host} does not resolve") from None
        if not addresses:
            raise BlockedDestination(f"{host} does not resolve")
        for address in addresses:
            if not self.address_allowed(address):
                raise BlockedDestination(f"{host} resolves to {address}, which is not a public address")

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BlockedDestination("Only http:// and https:// URLs can receive notifications")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise BlockedDestination("The URL has an invalid port") from None
        self.check_host(parts.hostname, port)

    def check_peer(self, host: str, sock: socket.socket) -> None:
        """Check the address a socket is really connected to (defeats DNS rebinding)."""
        peer = sock.getpeername()[0]
        if not self.host_allowed(host) and not self.address_allowed(peer):
            raise BlockedDestination(f"{host} connected to {peer}, which is not a public address")


class _PeerCheckedConnection:
    """Mixed into urllib3's connections: the socket is checked before a byte is sent on it."""

    guard: ClassVar[OutboundGuard]

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        try:
            self.guard.check_peer(self.host, sock)  # type: ignore[attr-defined]
        except BlockedDestination:
            sock.close()
            raise
        return sock


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: OutboundGuard):
        http = type("GuardedHTTPConnection", (_PeerCheckedConnection, HTTPConnection), {"guard": guard})
        https = type("GuardedHTTPSConnection", (_PeerCheckedConnection, HTTPSConnection), {"guard": guard})
        self._pool_classes = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(max_retries=0)  # retries are the delivery's, with back-off, not urllib3's

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


def guarded_session(guard: OutboundGuard) -> requests.Session:
    """A requests session whose every connection passes the guard's peer check."""
    session = requests.Session()
    # Environment proxies and .netrc would send the request somewhere other than the checked host.
    session.trust_env = False
    adapter = _GuardedAdapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
