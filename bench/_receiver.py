"""The lightest Socket.IO receiver we could write, so that receivers are not what is measured.

``bench/fanout.py`` runs hundreds of students per process. With a full websocket library each
received message costs ~75 us of the receiver's CPU, on the same two cores as the server under
test. This one is an ``asyncio.Protocol`` that does the websocket handshake itself, parses frames
in ``data_received``, inflates permessage-deflate with one ``zlib`` stream per connection
(context takeover, as browsers do), answers Engine.IO pings, and records ink arrivals with one
timestamp per read. It only receives: the teachers use ``_common.RawSocket``. Its frame parsing
(:func:`split_frames`, :class:`Messages`) is shared with ``_abuse_clients.WireSocket``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

# The stroke id and batch offset of an ink message: Takhti's log event {"data":{"id":..,"offset":..
# (stroke_started has no offset: 0) or the relay's re-emitted payload {"stroke_id":..,"offset":..
INK_KEY = re.compile(rb'"(?:data":\{"id|stroke_id)":"([^"]+)"(?:,"offset":(\d+))?')
INK_PREFIXES = (b'42["stroke_started"', b'42["stroke_extended"')
_TAIL = b"\x00\x00\xff\xff"

Record = tuple[str, int, float]


def split_frames(buffer: bytes | bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """The complete websocket frames (from a server: unmasked) at the start of ``buffer``, as
    (first header byte, payload), and how many bytes they took."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    size = len(buffer)
    while size - pos >= 2:
        first = buffer[pos]
        length = buffer[pos + 1] & 0x7F
        head_len = 2
        if length == 126:
            if size - pos < 4:
                break
            length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
            head_len = 4
        elif length == 127:
            if size - pos < 10:
                break
            length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
            head_len = 10
        if size - pos < head_len + length:
            break
        frames.append((first, bytes(buffer[pos + head_len : pos + head_len + length])))
        pos += head_len + length
    return frames, pos


class Messages:
    """Data frames into messages: fragments joined, permessage-deflate inflated (one stream per
    connection, context takeover, as browsers do; ``inflater`` is set once it was agreed)."""

    __slots__ = ("_deflated", "_fragments", "inflater")

    def __init__(self) -> None:
        self.inflater: Any = None
        self._fragments: list[bytes] = []
        self._deflated = False

    def add(self, first: int, body: bytes) -> bytes | None:
        """Take one data frame; the whole message once its last frame came, else None."""
        if first & 0x0F != 0:
            self._deflated = bool(first & 0x40)
        if not first & 0x80:
            self._fragments.append(body)
            return None
        if self._fragments:
            body = b"".join([*self._fragments, body])
            self._fragments = []
        if self._deflated and self.inflater is not None:
            body = self.inflater.decompress(body + _TAIL)
        return body


class Receiver(asyncio.Protocol):
    """One student: websocket + Engine.IO + Socket.IO connect, then records ink arrivals."""

    def __init__(self, auth: dict[str, Any], records: list[Record], flags: dict[str, bool]) -> None:
        self.auth = auth
        self.records = records
        self.flags = flags  # {"recording": bool}, shared by a process's receivers
        self.transport: asyncio.Transport | None = None
        self.wire_bytes = 0
        self.buffer = b""
        self.handshaken = False
        self.messages = Messages()
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.connected.done():
            self.connected.set_exception(ConnectionError(f"connection lost: {exc}"))

    def _send_text(self, text: bytes) -> None:
        """One masked (zero key) text frame, deflated like a browser's when deflate is on."""
        if self.transport is None:
            return
        first = 0x81
        if self.messages.inflater is not None:
            deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            text = (deflater.compress(text) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]
            first |= 0x40
        if len(text) < 126:
            head = bytes((first, 0x80 | len(text)))
        else:
            head = bytes((first, 0x80 | 126)) + len(text).to_bytes(2, "big")
        self.transport.write(head + b"\x00\x00\x00\x00" + text)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.wire_bytes += len(data)
        buffer = self.buffer + data if self.buffer else data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            head = buffer[:end].decode("latin-1")
            if not head.startswith("HTTP/1.1 101"):
                self.connected.set_exception(ConnectionError(head.split("\r\n", 1)[0]))
                return
            if "permessage-deflate" in head.lower():
                self.messages.inflater = zlib.decompressobj(-15)
            self.handshaken = True
            buffer = buffer[end + 4 :]
        frames, used = split_frames(buffer)
        for first, body in frames:
            self._frame(first, body, now)
        self.buffer = buffer[used:]

    def _frame(self, first: int, body: bytes, now: float) -> None:
        opcode = first & 0x0F
        if opcode >= 8:  # control: close, ping, pong
            if opcode == 9 and self.transport is not None:
                self.transport.write(bytes((0x8A, 0x80 | len(body))) + b"\x00\x00\x00\x00" + body)
            elif opcode == 8 and self.transport is not None:
                self.transport.close()
            return
        message = self.messages.add(first, body)
        if message is not None:
            self._message(message, now)

    def _message(self, message: bytes, now: float) -> None:
        if message.startswith(INK_PREFIXES):
            if self.flags["recording"]:
                found = INK_KEY.search(message)
                if found:
                    offset = int(found.group(2) or 0)
                    self.records.append((found.group(1).decode(), offset, now))
        elif message == b"2":
            self._send_text(b"3")
        elif message.startswith(b"0{"):
            self._send_text(("40" + json.dumps(self.auth, separators=(",", ":"))).encode())
        elif message.startswith(b"40") and not self.connected.done():
            self.connected.set_result(None)
        elif message.startswith(b"44") and not self.connected.done():
            self.connected.set_exception(ConnectionError(message[:200].decode()))


async def open_receiver(
    url: str,
    auth: dict[str, Any],
    records: list[Record],
    flags: dict[str, bool],
    *,
    deflate: bool = True,
    kind: type[Receiver] = Receiver,
) -> Receiver:
    """Connect one receiver (a ``kind``, e.g. a subclass that also sends) and wait until
    Socket.IO accepted it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    factory: Callable[[], Receiver] = lambda: kind(auth, records, flags)  # noqa: E731
    transport, receiver = await loop.create_connection(factory, host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    transport.write(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extension if deflate else ''}\r\n"
        ).encode()
    )
    await asyncio.wait_for(receiver.connected, 60)
    return receiver
