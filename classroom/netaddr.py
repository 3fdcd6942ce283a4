"""The addresses tablets on the school LAN can open: what the join link and QR code show.

A teacher on the smartboard usually opens the server as ``localhost``/``127.0.0.1`` (it runs on
the same computer), but a tablet cannot open a loopback address. The join link therefore names
this computer's LAN address (or ``--public-url``) whatever address the teacher's browser used.

Addresses come from the network interfaces themselves (Linux: ``SIOCGIFADDR`` on each
interface), then from the host name and from the route a datagram socket would take (neither
sends a packet). Loopback, link-local (169.254/16, no DHCP answer) and unspecified addresses are
never offered; private LAN addresses (RFC 1918) come first. Looked up again at most every
``CACHE_S`` seconds: the laptop may join the school Wi-Fi after the server started.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
import threading
import time

CACHE_S = 10.0
_SIOCGIFADDR = 0x8915

_lock = threading.Lock()
_cached: tuple[float, list[str]] | None = None


def usable(address: str) -> bool:
    """Whether a tablet on the LAN could open this IPv4 address."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def is_loopback_host(host: str) -> bool:
    """Whether a URL's host part names this computer only (``localhost``, 127/8, ``::1``)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _interface_addresses() -> list[str]:
    if not sys.platform.startswith("linux"):
        return []
    import fcntl

    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15])
                )
            except OSError:  # no IPv4 address on this interface
                continue
            found.append(socket.inet_ntoa(packed[20:24]))
    return found


def _resolved_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def _routed_address() -> list[str]:
    # connect() on a datagram socket only picks the route and source address: nothing is sent.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(("10.255.255.255", 9))
        return [str(probe.getsockname()[0])]
    return []


def _lookup() -> list[str]:
    found: list[str] = []
    for address in _interface_addresses() + _resolved_addresses() + _routed_address():
        if usable(address) and address not in found:
            found.append(address)
    found.sort(key=lambda a: not ipaddress.IPv4Address(a).is_private)  # stable: private first
    return found


def lan_addresses() -> list[str]:
    """IPv4 addresses of this computer that tablets on the LAN may reach, best first."""
    global _cached
    with _lock:
        now = time.monotonic()
        if _cached is None or now - _cached[0] > CACHE_S:
            _cached = (now, _lookup())
        return list(_cached[1])


def join_base(
    scheme: str, host: str, port: int | None, *, public_url: str | None, lan: list[str]
) -> tuple[str, bool]:
    """The base URL a join link should use, and whether tablets can open it.

    ``host``/``port`` are what the teacher's browser used. A configured public URL wins; a
    loopback host is replaced by the first LAN address; with none, the loopback URL is kept
    and reported as not reachable (the join screen then says how to fix it).
    """
    if public_url:
        return public_url.rstrip("/"), True
    suffix = (
        f":{port}" if port is not None and port != {"http": 80, "https": 443}.get(scheme) else ""
    )
    if is_loopback_host(host) and lan:
        return f"{scheme}://{lan[0]}{suffix}", True
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{bracketed}{suffix}", not is_loopback_host(host)
