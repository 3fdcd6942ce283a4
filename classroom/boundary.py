"""Helpers shared by the HTTP and Socket.IO boundaries."""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web
from pydantic import ValidationError

from classroom.errors import InvalidPayload
from classroom.settings import PRIVATE, PRIVATE_NETWORKS


def describe_validation_error(exc: ValidationError) -> InvalidPayload:
    """A short, safe message (never echoes the input) naming the first bad field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(str(part) for part in first["loc"]) or "payload"
    more = exc.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    return InvalidPayload(f"{loc}: {first['msg']}{suffix}", field=loc)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[tuple[Network, ...], tuple[Network, ...]]:
    """(networks whose requests may carry X-Forwarded-For, proxies to skip in the chain)."""
    listed = tuple(
        ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies if entry != PRIVATE
    )
    private = (
        tuple(ipaddress.ip_network(entry) for entry in PRIVATE_NETWORKS)
        if PRIVATE in trusted_proxies
        else ()
    )
    return listed + private, listed


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in networks)


def client_address(request: web.Request, *, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The address of the device that sent ``request``.

    ``X-Forwarded-For`` is believed only when the socket peer is one of ``trusted_proxies``
    (addresses or CIDRs; ``"private"`` for one proxy on the loopback or a private network);
    then the answer is the rightmost entry that is not itself a listed proxy (entries further
    left were written by the client and may be forged; with ``"private"`` only the last entry
    counts, since tablets on a LAN have private addresses too). From any other peer the header
    is ignored: a forged header can neither dodge a limit nor lock out a chosen address.
    """
    peer = request.remote or "unknown"
    peers, hops = _networks(trusted_proxies)
    if not peers or not _trusted(peer, peers):
        return peer
    chain = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in chain if hop]):
        if _parse(hop) is None:
            return peer  # garbage in the chain: do not believe anything left of it
        if not _trusted(hop, hops):
            return hop
    return peer


def limit_key(address: str) -> str:
    """The key rate limits count ``address`` under: an IPv6 client is its /64 (one home or
    phone gets a whole /64 and can pick any address in it), an IPv4 client its address."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else address


def is_loopback(address: str) -> bool:
    """Whether ``address`` is this computer."""
    parsed = _parse(address)
    return parsed is not None and parsed.is_loopback


def on_this_computer(request: web.Request) -> bool:
    """Whether ``request`` comes straight from the server's own computer (its browser, a
    simulation or a benchmark), not through a proxy: a reverse proxy on the same host that is
    missing from ``TAKHTI_TRUST_PROXY`` still adds X-Forwarded-For, and then nobody is exempt.
    """
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    return is_loopback(request.remote or "")


_OWN_ADDRESSES = frozenset({"127.0.0.1", "::1"})


def on_own_address(request: web.Request) -> bool:
    """Whether ``request`` comes from the server's own computer as its browser and its
    simulations do: 127.0.0.1 or ::1, straight (no proxy). Connection limits exempt only
    these; the rest of 127.0.0.0/8 is loopback too, but only a program that binds such an
    address on purpose uses it (a test rig standing in for tablets on a LAN), so it is
    counted like a tablet."""
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    parsed = _parse(request.remote or "")
    return parsed is not None and str(parsed) in _OWN_ADDRESSES
