"""Raw clients for ``bench/abuse.py``: students on their own loopback addresses, attack sockets.

Every client can bind its own source address in 127.0.0.0/8 (all of it is the loopback interface
on Linux), so the server sees a class of tablets on a school LAN, each with its own address, and
an attacker on another: limits per address apply to the attacker, not to the class.

* :func:`open_student` is ``_receiver.open_receiver`` with a source address: the same light
  receiver (``_receiver.Receiver``) that records ink arrivals.
* :class:`WireSocket` is a websocket + Engine.IO + Socket.IO client written for misbehaving: it
  sends any frame (binary, invalid, reserved event names), can read at a set rate like a slow
  link, keeps acks as raw bytes (a 9 MB snapshot ack is not parsed unless asked), and records
  when the server closed it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from _receiver import Messages, Receiver, Record, split_frames

SIO_PATH = "/socket.io/?EIO=4&transport=websocket"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def upgrade_request(host: str, port: int, path: str = SIO_PATH, *, deflate: bool) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extension if deflate else ''}\r\n"
    ).encode()


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """One client frame, masked with the zero key (so the payload is sent as it is)."""
    first = (0x80 if fin else 0) | rsv | opcode
    size = len(payload)
    if size < 126:
        head = bytes((first, 0x80 | size))
    elif size < 65536:
        head = bytes((first, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((first, 0x80 | 127)) + size.to_bytes(8, "big")
    return head + b"\x00\x00\x00\x00" + payload


async def open_student(
    url: str,
    auth: dict[str, Any],
    records: list[Record],
    flags: dict[str, bool],
    local_ip: str,
    *,
    deflate: bool = True,
    timeout: float = 30.0,
) -> Receiver:
    """Connect one recording student from ``local_ip`` and wait until Socket.IO accepted it."""
    host, port = host_port(url)
    loop = asyncio.get_running_loop()
    transport, receiver = await asyncio.wait_for(
        loop.create_connection(
            lambda: Receiver(auth, records, flags), host, port, local_addr=(local_ip, 0)
        ),
        timeout,
    )
    transport.write(upgrade_request(host, port, deflate=deflate))
    try:
        await asyncio.wait_for(receiver.connected, timeout)
    except BaseException:
        transport.abort()
        raise
    return receiver


class WireSocket(asyncio.Protocol):
    """One websocket connection to the Socket.IO endpoint, under the attacker's full control."""

    def __init__(self, *, read_rate: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshaken = False
        self.status_line = ""
        self.messages = Messages()
        self.opened: asyncio.Future[None] = loop.create_future()  # Engine.IO open packet
        self.connected: asyncio.Future[None] = loop.create_future()  # Socket.IO connect
        self.lost: asyncio.Future[None] = loop.create_future()
        self.lost_at: float | None = None
        self.closing_by_us = False
        self.sio_disconnected = False  # the server sent a Socket.IO DISCONNECT
        self.refusal = ""
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self._next_id = 0
        self.wire_bytes = 0
        self.events = 0
        self.read_rate = read_rate
        self._resume_at = 0.0
        self._paused_writing = False
        self._drained: asyncio.Future[None] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_at = time.monotonic()
        reason = ConnectionError(f"connection lost: {exc}")
        for fut in (self.opened, self.connected):
            if not fut.done():
                fut.set_exception(reason)
                fut.exception()  # retrieved: nobody may be waiting any more
        for ack in self.pending.values():
            if not ack.done():
                ack.set_exception(reason)
                ack.exception()
        self.pending.clear()
        if not self.lost.done():
            self.lost.set_result(None)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drain(self) -> None:
        """Wait until the kernel took what was written (flow control for bulk sends)."""
        if self._paused_writing and not self.lost.done():
            self._drained = self.loop.create_future()
            await self._drained

    @property
    def closed_by_server(self) -> bool:
        return self.lost.done() and not self.closing_by_us

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.wire_bytes += len(data)
        if self.read_rate and self.transport is not None:
            # A slow link: take no more than read_rate bytes a second off the socket.
            self._resume_at = max(self._resume_at, now) + len(data) / self.read_rate
            if self._resume_at - now > 0.002:
                self.transport.pause_reading()
                self.loop.call_later(self._resume_at - now, self._resume_reading)
        buffer = self.buffer
        buffer += data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1")
            self.status_line = head.split("\r\n", 1)[0]
            if not head.startswith("HTTP/1.1 101"):
                self._refuse(self.status_line)
                if self.transport is not None:
                    self.transport.close()
                return
            if "permessage-deflate" in head.lower():
                self.messages.inflater = zlib.decompressobj(-15)
            self.handshaken = True
            del buffer[: end + 4]
        frames, used = split_frames(buffer)
        if used:
            del buffer[:used]
        for first, body in frames:
            self._frame(first, body)

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(RuntimeError):
                self.transport.resume_reading()

    def _refuse(self, reason: str) -> None:
        self.refusal = reason
        for fut in (self.opened, self.connected):
            if not fut.done():
                fut.set_exception(ConnectionRefusedError(reason))
                fut.exception()

    def _frame(self, first: int, body: bytes) -> None:
        opcode = first & 0x0F
        if opcode >= 8:
            if opcode == 9:
                self.send_raw(frame(0xA, body))
            elif opcode == 8 and self.transport is not None:
                self.transport.close()
            return
        message = self.messages.add(first, body)
        if message is not None:
            self._message(message)

    def _message(self, message: bytes) -> None:
        if message.startswith(b"43"):
            bracket = message.find(b"[")
            if bracket > 2:
                fut = self.pending.pop(int(message[2:bracket]), None)
                if fut is not None and not fut.done():
                    fut.set_result(message[bracket:])
        elif message.startswith(b"42"):
            self.events += 1
        elif message == b"2":
            self.send_text(b"3")
        elif message.startswith(b"0"):
            if not self.opened.done():
                self.opened.set_result(None)
        elif message.startswith(b"40"):
            if not self.connected.done():
                self.connected.set_result(None)
        elif message.startswith(b"44"):
            self._refuse(message[:300].decode(errors="replace"))
        elif message.startswith(b"41") or message == b"1":
            self.sio_disconnected = True

    # sending

    def send_raw(self, data: bytes) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True

    def send_text(self, text: bytes | str) -> bool:
        payload = text.encode() if isinstance(text, str) else text
        return self.send_raw(frame(0x1, payload))

    def send_binary(self, payload: bytes) -> bool:
        return self.send_raw(frame(0x2, payload))

    def call(self, event: str, *args: Any) -> asyncio.Future[bytes]:
        """Send ``42<id>[event, *args]``; the future gets the raw ack array (bytes) or fails."""
        self._next_id += 1
        ack_id = self._next_id
        fut: asyncio.Future[bytes] = self.loop.create_future()
        if self.lost.done():
            fut.set_exception(ConnectionError("closed"))
            fut.exception()
            return fut
        self.pending[ack_id] = fut
        self.send_text(f"42{ack_id}" + json.dumps([event, *args], separators=(",", ":")))
        return fut

    async def sio_connect(self, auth: dict[str, Any], timeout: float = 15.0) -> None:
        await asyncio.wait_for(asyncio.shield(self.opened), timeout)
        self.send_text("40" + json.dumps(auth, separators=(",", ":")))
        await asyncio.wait_for(asyncio.shield(self.connected), timeout)

    def abort(self) -> None:
        self.closing_by_us = True
        if self.transport is not None:
            self.transport.abort()


async def open_wire(
    url: str,
    *,
    local_ip: str | None = None,
    path: str = SIO_PATH,
    deflate: bool = False,
    read_rate: float | None = None,
    rcvbuf: int | None = None,
    timeout: float = 15.0,
    wait_open: bool = True,
) -> WireSocket:
    """Open a :class:`WireSocket` (websocket upgraded; Engine.IO open packet received)."""
    host, port = host_port(url)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if local_ip:
            sock.bind((local_ip, 0))
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
        _, wire = await loop.create_connection(lambda: WireSocket(read_rate=read_rate), sock=sock)
    except BaseException:
        sock.close()
        raise
    wire.send_raw(upgrade_request(host, port, path, deflate=deflate))
    if wait_open:
        try:
            await asyncio.wait_for(asyncio.shield(wire.opened), timeout)
        except BaseException:
            wire.abort()
            raise
    return wire


def ack_value(raw: bytes) -> Any:
    """The first value of a raw ack array (``None`` for an empty one)."""
    values = json.loads(raw)
    return values[0] if values else None


def ack_error_code(raw: bytes) -> str | None:
    """The error code of an ``{"ok": false, "error": {...}}`` ack, read without parsing it all.

    ``None`` for a successful ack; ``"EMPTY"`` for an empty ack array (a handler that returned
    nothing: python-socketio answers ``[]``).
    """
    head = raw[:400]
    if head.strip() in (b"[]", b""):
        return "EMPTY"
    if head.startswith(b'[{"ok":true'):
        return None
    if len(raw) < 65536:
        value = ack_value(raw)
        if isinstance(value, dict):
            if value.get("ok"):
                return None
            error = value.get("error")
            return str(error.get("code")) if isinstance(error, dict) else "ERROR"
        return "NOT_AN_ACK_OBJECT"
    return None if b'"ok":true' in head else "ERROR"


Request = Callable[[str, dict[str, Any]], Awaitable[tuple[Any, int]]]


async def fetch_snapshot(request: Request) -> dict[str, Any]:
    """Fetch the class snapshot as a late joiner does, whichever way the server sends it.

    ``request(event, payload)`` returns ``(ack, size in bytes)``. First ``class_snapshot`` with
    ``paged: true``; a server that does not know ``paged`` (INVALID_PAYLOAD) is asked for the
    whole state. While the ack carries a ``cursor`` (or ``more``), the next piece is asked with
    ``class_snapshot_piece {cursor}``, or ``class_snapshot {cursor}`` where that event is unknown.
    """
    mode = "paged"
    ack, size = await request("class_snapshot", {"paged": True})
    if _code(ack) == "INVALID_PAYLOAD":
        mode = "whole"
        ack, size = await request("class_snapshot", {})
    found: dict[str, Any] = {"mode": mode, "pieces": 0, "bytes": 0}
    found["first_ack_keys"] = sorted(ack)[:12] if isinstance(ack, dict) else []
    piece_event = "class_snapshot_piece"
    while True:
        code = _code(ack)
        if code is not None:
            found["result"] = f"error: {code}"
            return found
        found["pieces"] += 1
        found["bytes"] += size
        cursor = ack.get("cursor")
        if cursor is None:
            found["result"] = "more_without_cursor" if ack.get("more") else "ok"
            return found
        if found["pieces"] >= 100_000:
            found["result"] = "too_many_pieces"
            return found
        ack, size = await request(piece_event, {"cursor": cursor})
        if piece_event == "class_snapshot_piece" and _code(ack) == "UNKNOWN_EVENT":
            piece_event = "class_snapshot"
            ack, size = await request(piece_event, {"cursor": cursor})


def _code(ack: Any) -> str | None:
    if isinstance(ack, dict) and ack.get("ok"):
        return None
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        return str(ack["error"].get("code"))
    return "NOT_AN_ACK_OBJECT"
