"""Who is signing in, behind a reverse proxy: the address that login limits count by.

The README puts ``hotline-server serve`` behind a TLS proxy on the same host, so every
request's peer is the proxy. Counting failed logins per peer would then lock out a whole
site after a few typos by anyone. A peer listed in HOTLINE_TRUSTED_PROXIES (loopback by
default) is a proxy: the client is the right-most X-Forwarded-For hop that is not itself a
trusted proxy. A client that is not a trusted proxy cannot choose its address with the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED = "127.0.0.1,::1"
_LONGEST_ADDRESS = 64  # a hop that is no address still counts, by a bounded key


def parse_trusted(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks; ``"none"`` or empty -> trust no proxy.
    Raises ValueError naming the entry that is neither an address nor a network."""
    if text.strip().lower() in ("", "none"):
        return ()
    found: list[Network] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(found)


def _is_trusted(address: str, trusted: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The sign-in's address: ``peer`` unless it is a trusted proxy, else the right-most
    X-Forwarded-For hop that is not a trusted proxy (``forwarded_for``: the header's values
    in the order received)."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop[:_LONGEST_ADDRESS]
    return hops[0][:_LONGEST_ADDRESS] if hops else peer
