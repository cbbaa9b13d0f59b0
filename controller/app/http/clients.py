"""Who the caller is on the network: the peer's address, or behind a configured proxy the right-most untrusted hop.

``X-Forwarded-For`` is written by whoever sends the request, so it is read only when the peer itself is a
trusted proxy (``[api] trusted_proxies``, empty by default), and then only from the right: every hop a
trusted proxy appended is skipped, and the first address no trusted proxy vouches for is the client.
Anything to its left was written by the client and could be anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``); a bad entry raises ``ValueError``."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    """True when ``address`` lies in one of the ``trusted`` networks (a non-address never does)."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """The caller's address: the peer, or the right-most hop of ``X-Forwarded-For`` no trusted proxy added."""
    peer = request.client.host if request.client else UNKNOWN
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    for hop in reversed([h for h in hops if h]):
        if not is_trusted(hop, trusted):
            return hop
    return peer  # every hop is a trusted proxy: the request started at one of them
