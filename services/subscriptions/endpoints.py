"""Where a rest-hook may point: the SSRF guard (OWASP Server-Side Request Forgery cheat
sheet, "application layer" defences).

A rest-hook endpoint is a URL a hospital's EMR gives us and that our server then POSTs to
from inside the region's network. Pointed at loopback, a private network, a link-local or
cloud-metadata address it would make this server a proxy into places the EMR cannot reach
(the metadata service hands out cloud credentials). So an endpoint's host is resolved and
*every* address it resolves to must be a public unicast one:

| refused                                   | why                                             |
|-------------------------------------------|-------------------------------------------------|
| loopback 127/8, ::1                       | this server's own ports (admin, Cassandra...)   |
| private 10/8, 172.16/12, 192.168/16,      | the hospital's and region's internal networks   |
| fc00::/7; shared 100.64/10 (Aliyun's      |                                                 |
| metadata 100.100.100.200 is there)        |                                                 |
| link-local 169.254/16, fe80::/10          | cloud metadata 169.254.169.254, fd00:ec2::254   |
| unspecified 0.0.0.0, ::; multicast;       | not a single host                               |
| reserved, IPv4-mapped forms of the above  |                                                 |
| names metadata.google.internal, metadata. | metadata services by name                       |
| goog                                      |                                                 |

(Python's `ipaddress.is_global` is false for all of them but multicast, checked apart.)

The check runs at create (a 422 naming `Subscription.channel.endpoint`) and again before
every POST, on a fresh resolution: a name that resolved to a public address at create may
resolve to 127.0.0.1 later (DNS rebinding). The POST then goes to the address just checked
(`pinned`), never to a second resolution made by the HTTP client.

An operator may allow named hosts or networks (`Settings.subscription_endpoint_allowlist`:
host names, IP addresses or CIDRs), e.g. an EMR on the hospital's own 10.x network, or a
test receiver on loopback. A host name entry allows that name whatever it resolves to; an
address or network entry allows the addresses inside it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})


class EndpointRefused(Exception):
    """The endpoint may not be called; the text says why (no secrets in it)."""


@dataclass(frozen=True)
class Pinned:
    """A checked endpoint: the URL with the host replaced by the checked address, and what
    the request must still say about the original host (Host header, TLS server name)."""

    url: str
    host_header: str
    tls_server_name: str | None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to now (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def forbidden_reason(address: IpAddress) -> str:
    """Why a rest-hook may not POST to `address`; "" when it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return forbidden_reason(mapped)
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local (cloud metadata) address"
    if address.is_unspecified:
        return "the unspecified address"
    if not address.is_global:
        return "a private or reserved address"
    return ""


class EndpointGuard:
    """Checks rest-hook endpoints against the rules above and the allow-list."""

    def __init__(self, allowlist: Sequence[str] = (), resolver: Resolver = resolve):
        self.names = {e.strip().lower().rstrip(".") for e in allowlist if not _is_network(e)}
        self.networks = [
            ipaddress.ip_network(e.strip(), strict=False) for e in allowlist if _is_network(e)
        ]
        self.resolver = resolver

    def check(self, url: str) -> Pinned:
        """The pinned form of `url`, or EndpointRefused."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            raise EndpointRefused("the endpoint must be an http(s) URL with a host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if host in self.names:
            return _pinned(parts, self._addresses(host, port)[0], host)
        if host in METADATA_NAMES or host.endswith(".metadata.google.internal"):
            raise EndpointRefused(f"host {host} is a cloud metadata service")
        addresses = self._addresses(host, port)
        for address in addresses:
            reason = forbidden_reason(ipaddress.ip_address(address))
            if reason and not self._allowed(address):
                raise EndpointRefused(
                    f"host {host} resolves to {address}, {reason}; "
                    "an operator may allow it (subscription_endpoint_allowlist)"
                )
        return _pinned(parts, addresses[0], host)

    def _addresses(self, host: str, port: int) -> list[str]:
        literal = _literal(host)
        if literal is not None:
            return [str(literal)]
        try:
            found = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise EndpointRefused(f"host {host} does not resolve ({type(exc).__name__})") from exc
        if not found:
            raise EndpointRefused(f"host {host} does not resolve")
        return [a.split("%", 1)[0] for a in found]  # drop an IPv6 zone id

    def _allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in net for net in self.networks if net.version == ip.version)


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False
    return True


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _pinned(parts: SplitResult, address: str, host: str) -> Pinned:
    """`parts` sent to `address`, still naming `host`."""
    ip = ipaddress.ip_address(address)
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    host_header = parts.netloc.rpartition("@")[2]  # never forward userinfo as the Host
    literal = _literal(host) is not None
    server_name = host if parts.scheme == "https" and not literal else None
    return Pinned(url, host_header, server_name)
