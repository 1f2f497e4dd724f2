"""MLLP peers: who may send HL7 v2 over MLLP, by sending facility (MSH-4, first component)
and source address. `hl7_peers` maps a facility to the addresses or CIDRs it sends from;
when the table is set, or whenever auth is required, a frame from an unlisted facility, or
from a listed facility at another address, is answered AR with an ERR naming MSH-4 (HL7
table 0357: 103, table value not found). An empty table admits every peer only with auth
off (the embedded demo).

The facility is what the peer says it is; the address is what TCP says. Their pair is the
identity, as far as MLLP without client certificates can tell (a region that needs more
puts the listener behind TLS with client certificates, or a VPN per clinic).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

Networks = dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]


def parse_peers(peers: Mapping[str, Sequence[str]]) -> Networks:
    """The settings' table with each address as a network (a bare address is a /32 or /128);
    a malformed entry fails at startup."""
    return {
        facility: [ipaddress.ip_network(a, strict=False) for a in addresses]
        for facility, addresses in peers.items()
    }


def peer_refusal(
    peers: Networks, facility: str, address: str | None, required: bool = False
) -> str:
    """Why a frame from `facility` at `address` is refused, or "" when it may send. With
    auth `required`, an empty table admits nobody: only the demo runs open."""
    if not peers and not required:
        return ""
    if facility not in peers:
        return f"sending facility {facility or '(empty)'} is not a configured peer"
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return f"sending facility {facility}: source address unknown"
    if not any(ip in net for net in peers[facility]):
        return f"sending facility {facility} may not send from {address}"
    return ""
