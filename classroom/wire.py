"""WebSocket output written straight to a connection's transport: framing, deflate, slow readers.

The fan-out of a live class is the server's hot path: every stroke batch goes to every student.
Stock Engine.IO puts each outgoing packet on the socket's ``asyncio.Queue`` and a writer task per
connection wakes up, encodes it, and hands it to aiohttp, which compresses and writes it. That is
two task switches and several coroutine layers per recipient per message, and it was most of the
server's CPU (see ``bench/fanout.py``).

Here each websocket connection gets an :class:`Outbox` that frames (and deflates) a message and
writes it to the transport synchronously. When a message may be written this way (without
overtaking what is queued) is decided in ``classroom/transport.py``, the one module that knows
Engine.IO's insides; this module only needs an ``asyncio.Transport``.

The outbox also:

* compresses a class's broadcasts once for all its students (:class:`SharedDeflate`, at a
  higher level than a per-connection compressor could afford); a connection's own compressor
  uses a small window (~22 KB instead of aiohttp's ~256 KB) and is kept only once the
  connection carries a stream of its own messages, so an idle student costs none; tiny
  messages (pings, short acks) go uncompressed;
* drops a connection whose unsent output passes ``max_backlog`` bytes (a tablet that stopped
  reading). The client reconnects and resumes from the lesson log, so nothing is lost, and one
  stuck tablet cannot fill the server's memory.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from typing import Any

logger = logging.getLogger(__name__)

# A connection's own compressor: a 2 KB window holds its last ~10 messages, which is where
# their repeated keys are found; zlib needs 4 x window + 2 ^ (mem_level + 9) bytes (~22 KB).
OWN_WINDOW_BITS = 11
OWN_MEM_LEVEL = 4
# A class's shared compressor (one per class, so it can be generous): the full 32 KB window
# and level 6 take the ink stream to ~51 bytes a batch against ~70 at level 1 with 2 KB.
SHARED_WINDOW_BITS = 15
SHARED_MEM_LEVEL = 8
SHARED_LEVEL = 6
MAX_BACKLOG = 4 * 1024 * 1024
# Shorter messages are sent as they are; deflating them saves a few bytes for a lot of CPU.
MIN_DEFLATE = 64
# A connection's first messages are each deflated on their own (no memory kept between them);
# from this many on, one compressor keeps the context (the stream of a live class).
WARM_MESSAGES = 8
_TEXT = 0x1
_BINARY = 0x2
_FIN = 0x80
_RSV1 = 0x40  # "this message is compressed" (RFC 7692)
_DEFLATE_TAIL = b"\x00\x00\xff\xff"
_LEN16 = struct.Struct("!BBH").pack
_LEN64 = struct.Struct("!BBQ").pack


def _frame(first: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return _LEN16(first, 126, size) + payload
    return _LEN64(first, 127, size) + payload


def _deflate(compressor: Any, payload: bytes) -> bytes:
    payload = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return payload[:-4] if payload.endswith(_DEFLATE_TAIL) else payload


def _own_compressor(window: int) -> Any:
    return zlib.compressobj(1, zlib.DEFLATED, -min(window, OWN_WINDOW_BITS), OWN_MEM_LEVEL)


class SharedDeflate:
    """One compressor for a class's broadcasts, shared by the students whose streams follow it.

    With context takeover a receiver inflates each message against the last messages it
    inflated. Students who have received exactly this compressor's messages since it was made
    (and only uncompressed messages besides) can all be sent the same compressed frame: it is
    compressed once, not once per student. A student whose stream left it (it was sent a
    compressed message of its own, or joined later) makes the next broadcast start a new
    compressor, which refers to nothing sent before and so suits every receiver.
    """

    __slots__ = ("_compressor", "generation")

    def __init__(self) -> None:
        self.generation = 0
        self._compressor: Any = None

    def frame(self, payload: bytes, members: list[Outbox]) -> bytes:
        """The text frame of ``payload`` for ``members``, who are in step with it afterwards."""
        generation = self.generation
        if self._compressor is None or any(
            m.stream is not self or m.generation != generation for m in members
        ):
            self._compressor = zlib.compressobj(
                SHARED_LEVEL, zlib.DEFLATED, -SHARED_WINDOW_BITS, SHARED_MEM_LEVEL
            )
            self.generation = generation = generation + 1
            for member in members:
                member.follow(self, generation)
        return _frame(_FIN | _TEXT | _RSV1, _deflate(self._compressor, payload))


class Outbox:
    """Writes whole WebSocket messages to one connection's transport, compressed if negotiated."""

    __slots__ = (
        "_compressor",
        "_notakeover",
        "_warmth",
        "_window",
        "dropped",
        "generation",
        "max_backlog",
        "shareable",
        "stream",
        "transport",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        *,
        window_bits: int = 0,
        notakeover: bool = False,
        max_backlog: int = MAX_BACKLOG,
    ) -> None:
        self.transport = transport
        self._window = window_bits
        self._notakeover = notakeover
        self._compressor: Any = None  # kept from the WARM_MESSAGES-th deflated message on
        self._warmth = 0
        self.max_backlog = max_backlog
        self.dropped = False
        # Set by the server for students: may take part in a class's SharedDeflate stream.
        self.shareable = False
        self.stream: SharedDeflate | None = None
        self.generation = 0

    @property
    def deflate(self) -> bool:
        return self._window > 0

    @property
    def can_share(self) -> bool:
        """Whether this connection can follow a :class:`SharedDeflate` stream."""
        return self.shareable and self._window == SHARED_WINDOW_BITS and not self._notakeover

    def follow(self, stream: SharedDeflate, generation: int) -> None:
        """From now on this connection's compressed messages come from ``stream``."""
        self.stream = stream
        self.generation = generation
        self._compressor = None  # its history is no longer what the receiver holds
        self._warmth = 0

    def _writable(self) -> bool:
        transport = self.transport
        if transport.is_closing():
            return False
        if transport.get_write_buffer_size() > self.max_backlog:
            # The client stopped reading. It will reconnect and resume from the log.
            self.dropped = True
            logger.warning("dropping a connection that stopped reading (%d bytes unsent)",
                           transport.get_write_buffer_size())  # fmt: skip
            transport.abort()
            return False
        return True

    def write_frame(self, frame: bytes) -> bool:
        """Write a frame made for this connection (by a :class:`SharedDeflate` it follows)."""
        if not self._writable():
            return False
        self.transport.write(frame)
        return True

    def write(self, message: str | bytes) -> bool:
        """Frame and write one message; False if the connection is gone (or was just dropped)."""
        if isinstance(message, str):
            return self.send(message.encode(), _FIN | _TEXT)
        return self.send(message, _FIN | _BINARY)

    def send(self, payload: bytes, first: int = _FIN | _TEXT) -> bool:
        """Write ``payload`` (UTF-8 text by default) as one message, deflated if worth it."""
        if not self._writable():
            return False
        if self._window and len(payload) >= MIN_DEFLATE:
            # A fresh compressor's output refers to nothing sent before, which every
            # permessage-deflate receiver accepts, with or without context takeover.
            compressor = self._compressor or _own_compressor(self._window)
            payload = _deflate(compressor, payload)
            first |= _RSV1
            self.stream = None  # the receiver's window now holds a message of ours
            if self._compressor is None and not self._notakeover:
                self._warmth += 1
                if self._warmth >= WARM_MESSAGES:
                    self._compressor = compressor
        self.transport.write(_frame(first, payload))
        return True
