"""The one way Relay makes an outbound HTTP call: a client that will not reach the platform's own network.

A store's address is typed by a tenant's operator, so without a guard any
tenant could make Relay talk to the platform's Redis, database or a cloud
metadata service (server-side request forgery). ``outbound_client()`` returns
an ``httpx.Client`` whose connections go through a network backend that
resolves the host name itself, refuses the connection when any address it
resolves to is loopback, private (RFC 1918, fc00::/7), link-local
(169.254.0.0/16 with the metadata address 169.254.169.254, fe80::/10),
unspecified, multicast, reserved, shared (100.64.0.0/10) or an IPv6 form of
one of those, and then connects to exactly the address it checked: the name is
not looked up a second time, so DNS rebinding has no window. TLS still names
the host (SNI and certificate checks use the name, not the address).

``settings.RELAY_OUTBOUND_ALLOW`` lists host names, addresses and networks
(CIDR) that may be reached all the same: the local sandbox shop in development
and tests; empty in production.

Redirects are not followed unless a caller asks, and then every hop connects
through the same guard. A refusal raises ``OutboundRefused`` (an
``httpx.ConnectError``) whose message a person can read; it is logged with
the host, the address and the reason, never a path, query or header.

``url_refusal()`` checks an address when it is saved (same rules, plus
http(s) only and no user name or password in it); the check at connect time
is the one that counts.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names of cloud metadata services: refused before any lookup, whatever they resolve to.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Alibaba Cloud's metadata is 100.100.100.200
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})

# What kind of address was refused, as a person reads it inside the sentences below.
KINDS = {
    "loopback": gettext_lazy("a loopback address"),
    "private": gettext_lazy("a private address"),
    "link-local": gettext_lazy("a link-local address"),
    "metadata": gettext_lazy("a cloud metadata address"),
    "unspecified": gettext_lazy("an unspecified address"),
    "multicast": gettext_lazy("a multicast address"),
    "reserved": gettext_lazy("a reserved address"),
    "shared": gettext_lazy("a shared (carrier-grade NAT) address"),
    "not-public": gettext_lazy("not a public address"),
}


class OutboundRefused(httpx.ConnectError):
    """Relay will not connect to this host: it is (or resolves to) a forbidden address.

    Never worth retrying. ``host``, ``address`` and ``reason`` (a key of KINDS) say
    what was refused; the message is for a person.
    """

    def __init__(self, message: str, *, host: str, address: str = "", reason: str = ""):
        super().__init__(message)
        self.host = host
        self.address = address
        self.reason = reason


@dataclass(frozen=True)
class AllowList:
    """Host names and networks that may be reached even though they are not public."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names, networks = set(), []
        for raw in entries:
            entry = raw.strip().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(_normal_host(entry))
        return cls(names=frozenset(names), networks=tuple(networks))

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.names

    def allows_address(self, address: IPAddress) -> bool:
        candidates = [address, *_embedded_ipv4(address)]
        return any(candidate in network for candidate in candidates for network in self.networks)


def allow_list(extra: Iterable[str] = ()) -> AllowList:
    """The allow-list of settings.RELAY_OUTBOUND_ALLOW plus ``extra``, read now (tests override the setting)."""
    return AllowList.parse([*getattr(settings, "RELAY_OUTBOUND_ALLOW", []), *extra])


# ------------------------------------------------------------------ classifying addresses


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, NAT64, the old IPv4-compatible form)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    found = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.append(address.teredo[1])
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 0xFFFF):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


# In order: the first that holds names the refusal.
_CHECKS: tuple[tuple[str, Any], ...] = (
    ("metadata", lambda a: a in _METADATA_ADDRESSES),
    ("unspecified", lambda a: a.is_unspecified),
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("shared", lambda a: a in _SHARED),
    ("private", lambda a: a.is_private or getattr(a, "is_site_local", False)),
    ("reserved", lambda a: a.is_reserved),
    ("not-public", lambda a: not a.is_global),
)


def _kind(address: IPAddress) -> str | None:
    """Why ``address`` alone may not be connected to (a key of KINDS), or None for a public address."""
    return next((kind for kind, holds in _CHECKS if holds(address)), None)


def address_refusal(address: IPAddress) -> str | None:
    """Why Relay will not connect to ``address`` (a key of KINDS), or None when it may. Ignores the allow-list.

    An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged by the IPv4 address it maps.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _kind(address.ipv4_mapped)
    for candidate in (*_embedded_ipv4(address), address):  # the IPv4 address carried names it best
        if kind := _kind(candidate):
            return kind
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(_normal_host(host))
    except ValueError:
        return None


def _message(*, host: str, address: str, kind: str) -> str:
    literal = _literal(host)
    if not address or (literal is not None and str(literal) == address):
        return _("%(address)s is %(kind)s; Relay does not connect to it.") % {
            "address": _normal_host(host),
            "kind": KINDS[kind],
        }
    return _("%(host)s resolves to %(address)s, %(kind)s; Relay does not connect to it.") % {
        "host": host,
        "address": address,
        "kind": KINDS[kind],
    }


def _refuse(*, host: str, address: str, kind: str) -> OutboundRefused:
    logger.warning("outbound connection refused", extra={"host": host, "address": address, "reason": kind})
    return OutboundRefused(_message(host=host, address=address, kind=kind), host=host, address=address, reason=kind)


def resolve(host: str, port: int) -> list[tuple[IPAddress, tuple]]:
    """Every (address, socket address) ``host`` resolves to for a TCP connection. Raises OSError when it does not."""
    found = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        found.append((ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), sockaddr))
    return found


def check_addresses(*, host: str, addresses: Iterable[IPAddress], allowed: AllowList) -> None:
    """Raise OutboundRefused (logged) when any of ``addresses`` of ``host`` is forbidden and not allow-listed.

    One forbidden answer refuses the host: a name that mixes public and private
    answers is a rebinding attempt as often as a misconfiguration.
    """
    for address in addresses:
        if allowed.allows_address(address):
            continue
        if kind := address_refusal(address):
            raise _refuse(host=host, address=str(address), kind=kind)


def check_host(*, host: str, allowed: AllowList) -> bool:
    """Refuse a metadata name (OutboundRefused). True when the name itself is allow-listed (no address check)."""
    if allowed.allows_host(host):
        return True
    if _normal_host(host) in METADATA_HOSTS:
        raise _refuse(host=host, address="", kind="metadata")
    return False


# ------------------------------------------------------------------ the guarded connection


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, resolving and checking the host before connecting to the checked address."""

    def __init__(self, *, allow: Iterable[str] = ()):
        self._extra_allow = tuple(allow)
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        allowed = allow_list(self._extra_allow)
        trusted_name = check_host(host=host, allowed=allowed)
        try:
            resolved = resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        if not resolved:
            raise httpcore.ConnectError(f"{host} has no IPv4 or IPv6 address")
        if not trusted_name:
            check_addresses(host=host, addresses=[address for address, _sockaddr in resolved], allowed=allowed)
        failure: Exception | None = None
        for address, _sockaddr in resolved:
            try:
                # The literal address just checked: nothing is looked up again.
                return self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise OutboundRefused(_("Relay does not connect to local sockets."), host=path, reason="loopback")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process, shared by every client: building one reads the CA bundle (about
    100 ms on a busy machine), which a webhook, whose adapter is made for the request, would pay every time."""
    return httpx.create_ssl_context(verify=True, cert=None, trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` over a GuardedBackend, without proxies or Unix sockets."""

    def __init__(
        self,
        *,
        verify: Any = True,
        cert: Any = None,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits | None = None,
        allow: Iterable[str] = (),
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # Not super().__init__(): that builds a pool on httpcore's own backend, which is what we replace.
        self._pool = httpcore.ConnectionPool(
            ssl_context=(
                _default_ssl_context()
                if verify is True and cert is None
                else httpx.create_ssl_context(verify=verify, cert=cert, trust_env=False)
            ),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=GuardedBackend(allow=allow),
        )


_TRANSPORT_OPTIONS = ("verify", "cert", "http1", "http2", "limits")
_NOT_ALLOWED = ("transport", "mounts", "proxy", "app", "trust_env")


def outbound_client(
    *, timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT, follow_redirects: bool = False,
    allow: Iterable[str] = (), **kw: Any,
) -> httpx.Client:  # fmt: skip
    """An ``httpx.Client`` that refuses forbidden addresses at connect time (OutboundRefused).

    ``allow`` adds allow-list entries for this client only (a server Relay itself
    just started on loopback). Environment proxies are ignored (a proxy would
    connect for us, unchecked); a transport, mounts or a proxy cannot be given.
    Redirects are not followed unless ``follow_redirects``; then each hop is
    checked the same way. Other keyword arguments go to ``httpx.Client``.
    """
    refused = [name for name in _NOT_ALLOWED if name in kw]
    if refused:
        raise TypeError(f"outbound_client() does not take {', '.join(refused)}")
    transport_options = {name: kw.pop(name) for name in _TRANSPORT_OPTIONS if name in kw}
    return httpx.Client(
        timeout=timeout,
        follow_redirects=follow_redirects,
        trust_env=False,
        transport=GuardedTransport(allow=allow, **transport_options),
        **kw,
    )


# ------------------------------------------------------------------ checking an address when it is saved


def _shape_refusal(url: str) -> str | None:
    """Why ``url`` is not an address Relay calls, by its form alone: http(s), a host, no user name or password."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return _("This is not a valid web address.")
    if parts.scheme.lower() not in SCHEMES:
        return _("The address must start with http:// or https://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return _("The address must not contain a user name or password; enter credentials in their own fields.")
    if not parts.hostname:
        return _("The address has no host name.")
    return None


def url_refusal(url: str, *, resolve_name: bool = True, allow: Iterable[str] = ()) -> str | None:
    """Why Relay would refuse to call ``url``, for a person; None when it may (as far as can be told now).

    http(s) only, no user name or password, not a forbidden address or metadata
    name unless allow-listed. With ``resolve_name`` a host name is looked up and
    refused when any answer is forbidden; a name that does not resolve now is
    let through (connect time decides). Logs nothing: the caller knows whose address it is.
    """
    if shape := _shape_refusal(url):
        return shape
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    allowed = allow_list(allow)
    if allowed.allows_host(host):
        return None
    if _normal_host(host) in METADATA_HOSTS:
        return _message(host=host, address="", kind="metadata")
    for address in _addresses_now(host, port=parts.port or 443, resolve_name=resolve_name):
        if not allowed.allows_address(address) and (kind := address_refusal(address)):
            return _message(host=host, address=str(address), kind=kind)
    return None


def _addresses_now(host: str, *, port: int, resolve_name: bool) -> list[IPAddress]:
    """The addresses ``host`` stands for now: itself when it is one; its answers when ``resolve_name``; else none."""
    if (literal := _literal(host)) is not None:
        return [literal]
    if not resolve_name:
        return []
    try:
        return [address for address, _sockaddr in resolve(host, port)]
    except (OSError, UnicodeError):
        return []
