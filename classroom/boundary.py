"""Helpers shared by the HTTP and Socket.IO boundaries."""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web
from pydantic import ValidationError

from classroom.errors import InvalidPayload


def describe_validation_error(exc: ValidationError) -> InvalidPayload:
    """A short, safe message (never echoes the input) naming the first bad field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(str(part) for part in first["loc"]) or "payload"
    more = exc.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    return InvalidPayload(f"{loc}: {first['msg']}{suffix}", field=loc)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies)


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
    (addresses or CIDRs); then the answer is the rightmost entry that is not itself a trusted
    proxy (entries further left were written by the client and may be forged). From any other
    peer the header is ignored: a forged header can neither dodge a limit nor lock out a
    chosen address.
    """
    peer = request.remote or "unknown"
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if _parse(hop) is None:
            return peer  # garbage in the chain: do not believe anything left of it
        if not _trusted(hop, networks):
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
