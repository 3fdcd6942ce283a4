"""A real `classroom serve` under descriptor exhaustion, half-open requests and a flood of bad
websocket packets: it keeps answering and its log stays small (issue 11 item 6)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classroom.logs import RepeatFilter
from testkit.procs import ServerProcess, add_teacher

TEACHER, PASSWORD = "amina", "correct-horse-9"


def call(port: int, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    """One HTTP request on a fresh connection; fails (timeout) if the server does not answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def websocket(port: int) -> socket.socket:
    """A raw Engine.IO websocket, upgraded, no token."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


@pytest.fixture
def cramped(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that may open only 256 files (soft and hard), with one teacher."""
    store = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    add_teacher(store, tmp_path, TEACHER, PASSWORD)
    server = ServerProcess(store, tmp_path, open_files=256)
    server.start()
    yield server
    server.stop()


def test_the_open_file_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    server = ServerProcess(
        f"sqlite://{tmp_path / 'takhti.sqlite3'}", tmp_path, open_files=(64, 512)
    )
    server.start()
    try:
        assert server.proc is not None
        limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        assert line.split()[3:5] == ["512", "512"], line
        assert call(server.port, "GET", "/healthz")[0] == 200
    finally:
        server.stop()


def test_idle_connections_cannot_exhaust_descriptors(cramped: ServerProcess) -> None:
    status, body = call(cramped.port, "POST", "/api/login", {"name": TEACHER, "password": PASSWORD})
    assert status == 200
    token = body["token"]
    status, cls = call(cramped.port, "POST", "/api/classes", {"title": "Class 5"}, token)
    assert status == 201
    hogs: list[socket.socket] = []
    try:
        for i in range(400):  # far more than the 256 descriptors the server may open
            hog = socket.create_connection(("127.0.0.1", cramped.port), timeout=3)
            if i % 2:
                hog.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            hogs.append(hog)
        # While every hog is still open, the next people still get in, promptly.
        for n in range(5):
            started = time.perf_counter()
            status, body = call(cramped.port, "GET", "/healthz")
            assert status == 200 and body["ok"] is True
            assert time.perf_counter() - started < 1.0
            status, joined = call(
                cramped.port, "POST", "/api/join", {"join_code": cls["join_code"], "name": f"S{n}"}
            )
            assert status == 201, joined
    finally:
        for hog in hogs:
            hog.close()
    status, _ = call(cramped.port, "GET", "/healthz")
    assert status == 200
    log = cramped.log()
    assert "Too many open files" not in log and "Traceback" not in log, log[-2000:]
    assert len(log.encode()) < 5_000


def test_when_every_connection_is_busy_newcomers_are_told_busy(cramped: ServerProcess) -> None:
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < 192:  # the cap for 256 open files
            sockets.append(websocket(cramped.port))
        started = time.perf_counter()
        status, body = call(cramped.port, "GET", "/healthz")
        assert status == 503 and body["error"]["code"] == "BUSY"
        assert time.perf_counter() - started < 1.0  # told at once, not left hanging
    finally:
        for sock in sockets:
            sock.close()
    deadline = time.monotonic() + 5
    while True:  # the server notices the closed websockets within a loop turn or two
        with contextlib.suppress(OSError, http.client.HTTPException):
            if call(cramped.port, "GET", "/healthz")[0] == 200:
                break
        assert time.monotonic() < deadline, "the server did not recover"
    log = cramped.log()
    assert log.count("refusing new ones") == 1 and "Traceback" not in log


def test_bad_websocket_packets_write_a_few_short_lines(cramped: ServerProcess) -> None:
    before = len(cramped.log().encode())
    for _ in range(300):
        with contextlib.closing(websocket(cramped.port)) as sock:
            sock.sendall(text_frame(b"zzz"))  # not an Engine.IO packet
            sock.settimeout(3)
            while sock.recv(4096):
                pass  # the server closes the connection at once
    status, _ = call(cramped.port, "GET", "/healthz")
    assert status == 200
    log = cramped.log()
    grown = len(log.encode()) - before
    assert "Traceback" not in log, log[-3000:]
    assert log.count("bad packet") <= 6  # five, then one line saying the rest are held back
    assert grown < 3_000, log[-3000:]  # 300 tracebacks were ~700 KB


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[ServerProcess]:
    store = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    server = ServerProcess(
        store,
        tmp_path,
        env={"TAKHTI_HTTP_IDLE_TIMEOUT_S": "1", "TAKHTI_REQUEST_BODY_TIMEOUT_S": "1"},
    )
    server.start()
    yield server
    server.stop()


def _closed_within(sock: socket.socket, seconds: float) -> tuple[float, bytes]:
    """Read until the server closes; how long it took and what it sent."""
    sock.settimeout(seconds)
    started = time.perf_counter()
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(4096):
            received += chunk
    return time.perf_counter() - started, received


def test_half_open_requests_time_out(impatient: ServerProcess) -> None:
    silent = socket.create_connection(("127.0.0.1", impatient.port))
    partial = socket.create_connection(("127.0.0.1", impatient.port))
    partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    stalled = socket.create_connection(("127.0.0.1", impatient.port))
    stalled.sendall(
        b"POST /api/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"join'
    )
    for sock in (silent, partial):
        took, _ = _closed_within(sock, 5)
        assert took < 3
        sock.close()
    took, answer = _closed_within(stalled, 5)
    stalled.close()
    assert took < 3.5  # 1 s for the body, at most 1 s more to linger
    assert answer.startswith(b"HTTP/1.1 408") and b'"TIMEOUT"' in answer, answer


def test_repeated_messages_are_held_back_then_counted() -> None:
    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatFilter(burst=3, window_s=60, clock=lambda: now[0]))
    log = logging.getLogger("tests.repeat")
    log.addHandler(handler)
    log.propagate = False
    try:
        for i in range(1_001):
            if i == 1_000:
                log.warning("something else")
                now[0] = 61.0
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                log.exception("accept failed on socket %d", i)
    finally:
        log.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert sum("Traceback" in line for line in lines) == 3 + 1  # the burst, the next minute's
    held = [line for line in lines if "held back for" in line]
    assert len(held) == 1 and "Too many open files" in held[0]
    counted = next(i for i, line in enumerate(lines) if line.startswith("(996 more like this"))
    assert lines[counted] == "(996 more like this were held back) accept failed on socket 1000"
    assert lines[counted - 1] == "something else"
    assert lines[-1] == "OSError: [Errno 24] Too many open files"  # with its traceback
    assert len(out.getvalue()) < 5_000
