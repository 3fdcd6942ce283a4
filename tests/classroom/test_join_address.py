"""The join link and QR code name an address tablets can open, never a loopback address.

A teacher on the smartboard opens the server as ``127.0.0.1`` (it runs on that computer); the
QR code still has to send tablets to the computer's LAN address.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import cv2
import numpy as np

from classroom import netaddr
from testkit.client import Api
from testkit.procs import CommandServer, add_teacher, free_port


def interface_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, as `ip` reports them."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True)
    found = []
    for line in out.stdout.splitlines():
        address = line.split()[3].split("/")[0]
        ip = ipaddress.IPv4Address(address)
        if not ip.is_loopback and not ip.is_link_local:
            found.append(address)
    return found


def decode_qr(png: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


def wait_for_line(server: CommandServer, needle: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log()
        if needle in log:
            return log
        time.sleep(0.05)  # polling the log file for a condition, with a deadline
    raise AssertionError(f"{needle!r} never appeared in the server's output:\n{server.log()}")


async def test_a_teacher_on_loopback_gets_a_qr_code_tablets_can_open(tmp_path: Path) -> None:
    port = free_port()
    store = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    add_teacher(store, tmp_path, "amina", "a long password")
    argv = [sys.executable, "-m", "classroom.cli", "serve", "--host", "0.0.0.0", "--port"]
    argv += [str(port), "--store", store, "--data-dir", str(tmp_path)]
    server = CommandServer(argv, port, tmp_path / "server.log")
    server.start()
    try:
        lan = interface_addresses()
        async with aiohttp.ClientSession() as http:
            api = Api(f"http://127.0.0.1:{port}", http)  # the smartboard's own browser
            token = await api.login("amina", "a long password")
            cls = await api.create_class(token)
            status, png = await api.request("GET", str(cls["qr_png"]), token=token)
            assert status == 200
            scanned = decode_qr(png)
            assert scanned == cls["join_url"]
            host = urlsplit(scanned).hostname or ""
            if not lan:  # a computer on no network: said plainly instead of a dead link
                assert cls["join_reachable"] is False
                return
            assert cls["join_reachable"] is True
            assert not netaddr.is_loopback_host(host) and host in lan
            assert urlsplit(scanned).port == port
            assert scanned.endswith(f"/join/{cls['join_code']}")
            # A tablet on the LAN opens exactly what it scanned.
            async with http.get(scanned) as page:
                assert page.status == 200 and "text/html" in page.content_type
        # `classroom serve` names the address tablets open first, before the loopback one.
        log = wait_for_line(server, "On this computer")
        lines = [line.strip() for line in log.splitlines() if "http://" in line]
        assert lines[0].startswith("Students open:") and f"http://{lan[0]}:{port}" in lines[0]
    finally:
        server.stop()


def test_the_join_base_rules() -> None:
    lan = ["192.168.1.10"]
    # Loopback in any spelling is replaced by the LAN address, with the browser's port.
    for host in ("127.0.0.1", "localhost", "::1", "127.0.1.1", "app.localhost"):
        assert netaddr.join_base("http", host, 8080, public_url=None, lan=lan) == (
            "http://192.168.1.10:8080",
            True,
        )
    # An address the browser reached over the LAN is kept (the teacher's own tablet).
    assert netaddr.join_base("http", "10.0.0.5", 8080, public_url=None, lan=lan) == (
        "http://10.0.0.5:8080",
        True,
    )
    # A configured public URL always wins; default ports are not written.
    assert netaddr.join_base(
        "http", "127.0.0.1", 8080, public_url="https://takhti.school.pk/", lan=lan
    ) == ("https://takhti.school.pk", True)
    assert netaddr.join_base("http", "localhost", 80, public_url=None, lan=lan) == (
        "http://192.168.1.10",
        True,
    )
    # No LAN address: the loopback link is kept and marked as not reachable.
    assert netaddr.join_base("http", "::1", 8080, public_url=None, lan=[]) == (
        "http://[::1]:8080",
        False,
    )
    assert not any(netaddr.usable(a) for a in ("127.0.0.1", "169.254.3.4", "0.0.0.0", "x"))
    assert netaddr.usable("192.168.1.10") and netaddr.usable("203.0.113.7")
