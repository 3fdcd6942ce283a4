"""The seam between the classroom and its Socket.IO libraries: all their insides it relies on.

The rest of the server sees a :class:`Transport` (register handlers, put a connection in a room,
send an event to rooms) and its :class:`Connection` objects (in the spirit of tldraw sync-core's
``TLRoomSocket``: ``is_open``, ``send``, ``close``). Everything below reaches past the public API
of python-socketio, python-engineio or aiohttp, and nothing else in ``classroom/`` does.

Tested with python-socketio 5.18, python-engineio 4.15 and aiohttp 3.14, pinned with ``~=`` in
``pyproject.toml`` and frozen in ``constraints.txt``. What this module relies on:

* engineio ``AsyncServer._async["websocket"]``: the websocket driver, replaced by
  :class:`DirectWebSocket` (writes through an :class:`~classroom.wire.Outbox`);
* engineio ``AsyncServer.create_queue``: each socket's send queue is a :class:`SendQueue`;
* engineio ``AsyncSocket.queue``, ``.upgraded``, ``.upgrading``, ``.closed``, ``.closing``,
  ``.close(wait=False, abort=True)``, and that its websocket writer task, or a long poll, waits
  in ``queue.get()`` when it has nothing to send;
* engineio ``AsyncServer.sockets`` (Engine.IO sid -> socket), ``.handle_request`` (the
  aiohttp route of every Engine.IO request; a new session is one without ``sid``);
* engineio ``AsyncServer.start_background_task`` and that ``AsyncSocket.schedule_ping`` starts
  its ``_send_ping`` through it (the task is cancelled when the socket closes);
* socketio ``AsyncServer._engineio_server_class``, ``._handle_eio_connect``,
  ``._handle_eio_message``, ``._handle_eio_disconnect`` and ``._binary_packet``;
* socketio ``packet.Packet.decode`` and ``.uses_binary_events`` (a serializer subclass);
* socketio ``manager.get_participants`` and ``manager.eio_sid_from_sid``;
* aiohttp ``aiohttp.http.ws_ext_parse``, ``WebSocketResponse.compress``, ``Request.transport``.

``tests/classroom/test_transport.py`` exercises each over real sockets, and fails if broadcasts
stop taking the direct write path (:attr:`Transport.writes`): an upgrade that changes one of
these internals would otherwise only make the server slower, silently.

What the transport guarantees besides:

* Only the events it was built with reach a handler. A client event naming anything else,
  including the names python-socketio gives a meaning (``connect``, ``disconnect``, ``*``), is
  handed to the ``UNKNOWN`` handler; one that is not ``[name, ...]`` or not JSON goes to
  ``MALFORMED``.
* Binary (Socket.IO attachments) is accepted only on connections marked with
  :meth:`Connection.accept_binary` (the camera's board device), at most ``MAX_ATTACHMENTS`` per
  packet. Anything else that declares or sends binary closes the connection before an
  attachment is kept.
* A connection that stops taking its output is dropped: a websocket whose unsent bytes pass
  ``max_backlog`` (:class:`~classroom.wire.Outbox`), a long-polling client whose queue passes
  ``max_backlog`` bytes or that has not polled for ``poll_stall_s`` while output waits.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import engineio
import socketio
from aiohttp import hdrs, web
from aiohttp.http import ws_ext_parse
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from classroom.protocol import NAMESPACE
from classroom.wire import MAX_BACKLOG, MIN_DEFLATE, Outbox, SharedDeflate

logger = logging.getLogger(__name__)

# Stand in for the event name of a client message that is not one of the transport's events.
MALFORMED = "\x00malformed"  # not JSON, too deep, or not [name, ...]
UNKNOWN = "\x00unknown"  # [name, ...] with a name that is not an event; the handler gets the name
# Binary parts one client packet may carry (the camera events have one image each).
MAX_ATTACHMENTS = 1
# A long-polling client with output waiting that has not polled for this long is gone.
POLL_STALL_S = 20.0
_BINARY_TYPES = (str(sio_packet.BINARY_EVENT), str(sio_packet.BINARY_ACK))
# The Socket.IO packet types a client sends to a server; python-socketio logs a traceback for
# any other (CONNECT_ERROR, an unknown number), so a student could fill the log with them.
_CLIENT_PACKETS = frozenset(
    {
        sio_packet.CONNECT,
        sio_packet.DISCONNECT,
        sio_packet.EVENT,
        sio_packet.ACK,
        sio_packet.BINARY_EVENT,
        sio_packet.BINARY_ACK,
    }
)

Handler = Callable[..., Awaitable[Any]]


class WriteCounts:
    """Messages written at once to a websocket (``direct``) and put on a send queue (``queued``).

    Engine.IO pings and handshake packets are not counted; acks and broadcasts are.
    """

    __slots__ = ("direct", "queued")

    def __init__(self) -> None:
        self.direct = 0
        self.queued = 0


# Asked about every request that opens an Engine.IO session (no ``sid``) before any work is
# done for it: None lets it in, a response refuses it.
Admit = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


@dataclass(frozen=True)
class _Limits:
    writes: WriteCounts
    max_backlog: int
    poll_stall_s: float
    admit: Admit | None = None


class TolerantPacket(socketio.packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet that turns any client message into one of a known set of events.

    The stock decoder raises on invalid or very deeply nested JSON and the message is dropped
    without an answer. Here the packet keeps its ack id and becomes the ``MALFORMED`` event; an
    event named anything outside :attr:`events` becomes ``UNKNOWN`` (so ``connect`` sent as an
    event never reaches the connect handler).

    The server sends JSON only (pictures go over HTTP), so an outgoing packet is not searched
    for binary parts: that walk over every broadcast and ack was ~15% of the server's CPU in a
    vote burst.
    """

    uses_binary_events = False
    events: ClassVar[frozenset[str]] = frozenset()

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments = int(super().decode(encoded_packet))
        except (ValueError, RecursionError):
            if getattr(self, "packet_type", None) not in (sio_packet.EVENT, sio_packet.ACK):
                raise
            self.packet_type = sio_packet.EVENT
            self.data = [MALFORMED]
            return 0
        if self.packet_type not in _CLIENT_PACKETS:
            self.packet_type = sio_packet.EVENT
            self.data = [MALFORMED]
            return 0
        if self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            data = self.data
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                self.data = [MALFORMED]
            elif data[0] not in self.events:
                self.data = [UNKNOWN, data[0][:64]]
        return attachments


class SendQueue(asyncio.Queue[Any]):
    """An Engine.IO socket's send queue that writes through its :class:`Outbox` when it can.

    Once the connection is an upgraded websocket and its writer task is parked on an empty
    queue (so the writer holds nothing), a packet put on the queue is written through the outbox
    right away instead of being queued. Order is kept: until that moment everything goes through
    the queue, and after it everything except Engine.IO pings is written at once (pings still go
    through the queue, which keeps the writer task's idle timeout from firing; their order does
    not matter).

    Without an outbox (long polling) the queue is bounded: see :meth:`_bounded`.
    """

    def __init__(self, limits: _Limits) -> None:
        super().__init__()
        self.outbox: Outbox | None = None
        self.socket: Any = None
        self.accept_binary = False
        self.dropped = False
        self._limits = limits
        self._parked = False  # the socket's writer (or a long poll) waits in get() on it
        self._queued_bytes = 0
        self._waiting_since = 0.0  # when output started waiting with nobody taking it
        self._closing: asyncio.Future[Any] | None = None
        # Engine.IO's next ping, a task asleep for the ping interval that holds the socket (and
        # through this queue its outbox and transport): cancelled when the socket closes.
        self.ping: asyncio.Future[Any] | None = None

    def closed(self) -> None:
        """The socket closed: let go of its connection, so that is freed at once.

        Its pending ping (a task asleep for the ping interval) is cancelled, the cycle socket
        <-> queue broken (the server runs few full garbage collections), and the outbox let go
        (Engine.IO's service task keeps closed sockets for up to its ping timeout). Left as they
        were, 1,700 handshakes a second (invalid frames, no token needed) kept ~17,000 closed
        connections and took the server from 115 to 319 MB (bench/abuse.py). What is still
        sent (Engine.IO's CLOSE) goes through the queue.
        """
        ping, self.ping = self.ping, None
        if ping is not None and ping is not asyncio.current_task():
            ping.cancel()
        self.socket = None
        self.outbox = None

    async def get(self) -> Any:
        self._parked = True
        try:
            return await super().get()
        finally:
            self._parked = False

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        self._waiting_since = 0.0
        if item is not None and isinstance(item.data, str | bytes):
            self._queued_bytes -= len(item.data)
        return item

    def direct(self) -> Outbox | None:
        """The outbox, if a message may be written to it now without overtaking queued ones."""
        outbox, socket = self.outbox, self.socket
        if (
            outbox is not None
            and socket is not None
            and self._parked
            and self.empty()
            and socket.upgraded
            and not socket.upgrading
        ):
            return outbox
        return None

    def put_nowait(self, item: Any) -> None:
        if self.dropped:
            return
        if item is not None:
            if item.packet_type != eio_packet.PING:
                outbox = self.direct()
                if outbox is not None:
                    self._limits.writes.direct += 1
                    outbox.write(item.encode())
                    return
                if item.packet_type == eio_packet.MESSAGE:
                    self._limits.writes.queued += 1
            if isinstance(item.data, str | bytes):
                self._queued_bytes += len(item.data)
            if self.outbox is None and self.socket is not None and not self._bounded():
                return
        super().put_nowait(item)

    def end(self) -> None:
        """Wake a long poll or the websocket writer waiting on this queue: there is no more."""
        self.dropped = True
        asyncio.Queue.put_nowait(self, None)

    def _bounded(self) -> bool:
        """Whether a long-polling client is still taking its output; drops it if not.

        A client that stopped polling (or cannot keep up) would otherwise keep every broadcast
        in memory for as long as it answers pings. Like a websocket reader that stopped reading,
        it reconnects and resumes from the lesson log, so nothing is lost.
        """
        if self._parked:
            return True
        now = time.monotonic()
        if not self._waiting_since:
            self._waiting_since = now
        stalled = now - self._waiting_since > self._limits.poll_stall_s
        if self._queued_bytes <= self._limits.max_backlog and not stalled:
            return True
        logger.warning(
            "dropping a long-polling connection that stopped polling (%d bytes waiting, %.0f s)",
            self._queued_bytes,
            now - self._waiting_since,
        )
        self.dropped = True
        while not self.empty():
            super().get_nowait()
            self.task_done()
        self._queued_bytes = 0
        self._closing = asyncio.ensure_future(self.socket.close(wait=False, abort=True))
        return False


def broadcast(
    queues: list[SendQueue],
    message: eio_packet.Packet,
    shared: SharedDeflate | None,
    writes: WriteCounts,
) -> None:
    """Send one Engine.IO message to many sockets, encoding it once.

    Sockets that can be written now get it at once; students following ``shared`` get one
    frame compressed once for all of them; the others get it queued, behind what they have.
    """
    payload: bytes | None = None
    members: list[Outbox] = []
    queued = 0
    for queue in queues:
        outbox = queue.direct()
        if outbox is None:
            queue.put_nowait(message)  # counts itself as queued
            queued += 1
            continue
        if payload is None:
            payload = message.encode().encode()
        if shared is not None and outbox.can_share and len(payload) >= MIN_DEFLATE:
            members.append(outbox)
        else:
            outbox.send(payload)
    writes.direct += len(queues) - queued
    if members and shared is not None and payload is not None:
        frame = shared.frame(payload, members)
        for outbox in members:
            outbox.write_frame(frame)


class DirectWebSocket:
    """Engine.IO's aiohttp websocket wrapper, with output through an :class:`Outbox`."""

    def __init__(self, handler: Any, server: Any) -> None:
        self.handler = handler
        self.server = server
        self._sock: web.WebSocketResponse | None = None
        self.outbox: Outbox | None = None

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        sock = self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size)
        await sock.prepare(request)
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("the connection closed during the handshake")
        window = int(sock.compress)
        notakeover = False
        if window:
            _, notakeover = ws_ext_parse(
                request.headers.get(hdrs.SEC_WEBSOCKET_EXTENSIONS), isserver=True
            )
        self.outbox = Outbox(transport, window_bits=window, notakeover=notakeover)
        socket = getattr(self.handler, "__self__", None)  # the Engine.IO socket
        if socket is not None and isinstance(socket.queue, SendQueue):
            socket.queue.socket = socket
            socket.queue.outbox = self.outbox
        self.environ = environ
        try:
            await self.handler(self)
        except Exception:
            # Engine.IO raises out of its reader on a packet a client made up (a bare invalid
            # frame does, no token needed; the HTTP error middleware logs one line). Closed now:
            # left to its ping timeout, each such socket was kept for ~20 s.
            if socket is not None:
                await socket.close(wait=False, abort=True)
                if isinstance(socket.queue, SendQueue):
                    socket.queue.end()  # the writer task waits on it
                self.server.sockets.pop(socket.sid, None)
            raise
        return sock

    async def close(self) -> None:
        if self._sock is not None:
            await self._sock.close()

    async def send(self, message: str | bytes) -> None:
        if self.outbox is not None and not self.outbox.write(message):
            raise ConnectionResetError("the connection is closed")

    async def wait(self) -> str | bytes | None:
        """The next message; None once the connection closed or failed.

        None, not an exception: Engine.IO keeps the task that raised, whose traceback holds
        its own frame, and that reference cycle kept each closed connection (request,
        transport, socket) until a full garbage collection, which the server runs rarely
        (``cli._calm_collector``): 200 MB after a minute of invalid frames.
        """
        if self._sock is None:
            return None
        msg = await self._sock.receive()
        if not isinstance(msg.data, bytes | str):
            if isinstance(msg.data, BaseException):
                msg.data.__traceback__ = None  # aiohttp's parser error: same cycle
            return None
        return msg.data


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """Engine.IO with :class:`SendQueue` queues and :class:`DirectWebSocket` connections."""

    def __init__(self, limits: _Limits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limits = limits
        drivers: dict[str, Any] = getattr(self, "_async")  # noqa: B009 - untyped attribute
        self._async = {**drivers, "websocket": DirectWebSocket}

    def create_queue(self, *args: Any, **kwargs: Any) -> SendQueue:
        return SendQueue(self._limits)

    async def handle_request(self, request: web.Request, *args: Any, **kwargs: Any) -> Any:
        admit = self._limits.admit
        if admit is not None and "sid" not in request.query:
            refusal = await admit(request)
            if refusal is not None:
                return refusal
        return await super().handle_request(request, *args, **kwargs)

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        task = super().start_background_task(target, *args, **kwargs)
        if getattr(target, "__name__", "") == "_send_ping":
            queue = getattr(getattr(target, "__self__", None), "queue", None)
            if isinstance(queue, SendQueue):
                queue.ping = task
        return task


class _SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """``socketio.AsyncServer`` on :class:`_EngineServer`, refusing unannounced binary."""

    def __init__(self, limits: _Limits, **kwargs: Any) -> None:
        self._limits = limits  # read by _engineio_server_class, during super().__init__
        super().__init__(**kwargs)

    def _engineio_server_class(self) -> Any:
        return functools.partial(_EngineServer, self._limits)

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        result = await super()._handle_eio_connect(eio_sid, environ)
        queue = self.send_queue(eio_sid)
        if queue is not None:
            queue.socket = self.eio.sockets[eio_sid]
        return result

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        queue = self.send_queue(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)
        if queue is not None:
            queue.closed()

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        refusal = self._binary_refusal(eio_sid, data)
        if refusal is not None:
            logger.warning("closing a connection that sent %s", refusal)
            await self.drop(eio_sid)
            return
        await super()._handle_eio_message(eio_sid, data)

    def _binary_refusal(self, eio_sid: str, data: Any) -> str | None:
        """Why this message must not be taken, if it declares or is binary; else None."""
        if isinstance(data, bytes):
            # An attachment: only after a packet that announced it (and was let through).
            return None if eio_sid in self._binary_packet else "an unannounced binary message"
        if data[:1] not in _BINARY_TYPES:
            return None
        queue = self.send_queue(eio_sid)
        if data[:1] != _BINARY_TYPES[0] or queue is None or not queue.accept_binary:
            return "a binary packet on a connection that may not send binary"
        dash = data.find("-", 1, 12)
        count = data[1:dash] if dash > 1 else ""
        if not count.isdigit() or not 0 < int(count) <= MAX_ATTACHMENTS:
            return f"a packet announcing {count or 'no'} binary attachments"
        return None

    def send_queue(self, eio_sid: str) -> SendQueue | None:
        socket = self.eio.sockets.get(eio_sid)
        queue = getattr(socket, "queue", None)
        return queue if isinstance(queue, SendQueue) else None

    async def drop(self, eio_sid: str) -> None:
        """Close a connection at once, without reading or sending anything more on it."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None:
            return
        queue = self.send_queue(eio_sid)
        if queue is not None and queue.outbox is not None:
            queue.outbox.transport.abort()
        await socket.close(wait=False, abort=True)
        if queue is not None:
            queue.end()


class Connection:
    """One client connection (like tldraw's ``TLRoomSocket``): open?, send to it, close it."""

    __slots__ = ("_queue", "_server", "_socket", "sid")

    def __init__(self, server: _SocketServer, sid: str, socket: Any, queue: SendQueue) -> None:
        self._server = server
        self.sid = sid
        self._socket = socket
        self._queue = queue

    @property
    def is_open(self) -> bool:
        return not (self._socket.closed or self._socket.closing or self._queue.dropped)

    @property
    def websocket(self) -> bool:
        """Whether output is written straight to a websocket (not long polling)."""
        return self._queue.outbox is not None

    def send(self, name: str, data: Any) -> None:
        """Send one event to this connection (written at once on a websocket)."""
        message = _message(self._server, name, data)
        broadcast([self._queue], message, None, self._server._limits.writes)

    async def close(self) -> None:
        await self._server.drop(self._socket.sid)

    def share_broadcasts(self) -> None:
        """Let this connection take part in a class's shared deflate stream (students)."""
        if self._queue.outbox is not None:
            self._queue.outbox.shareable = True

    def accept_binary(self) -> None:
        """Let this connection send packets with binary attachments (the board device)."""
        self._queue.accept_binary = True


def _message(server: _SocketServer, name: str, data: Any) -> eio_packet.Packet:
    packet = server.packet_class(sio_packet.EVENT, namespace=NAMESPACE, data=[name, data])
    return eio_packet.Packet(eio_packet.MESSAGE, packet.encode())


class Transport:
    """The Socket.IO server of the classroom namespace, with its fast path for broadcasts."""

    def __init__(
        self,
        *,
        events: Iterable[str],
        max_message_bytes: int,
        max_backlog: int = MAX_BACKLOG,
        poll_stall_s: float = POLL_STALL_S,
        ping_interval: float = 10,
        ping_timeout: float = 10,
        admit: Admit | None = None,
    ) -> None:
        """``admit`` is asked about each new connection before any work is done for it."""
        self.writes = WriteCounts()
        packet_class = type("ClassroomPacket", (TolerantPacket,), {"events": frozenset(events)})
        self._sio = _SocketServer(
            _Limits(self.writes, max_backlog, poll_stall_s, admit),
            async_mode="aiohttp",
            serializer=packet_class,
            cors_allowed_origins="*",
            max_http_buffer_size=max_message_bytes,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            logger=False,
            engineio_logger=False,
        )

    def attach(self, app: web.Application) -> None:
        """Serve Socket.IO on ``app`` at ``/socket.io/``."""
        self._sio.attach(app)

    def on(self, name: str, handler: Handler) -> None:
        """Handle ``connect``, ``disconnect``, an event, ``MALFORMED`` or ``UNKNOWN``."""
        self._sio.on(name, handler, namespace=NAMESPACE)

    async def enter_room(self, sid: str, room: str) -> None:
        await self._sio.enter_room(sid, room, namespace=NAMESPACE)

    async def emit(self, name: str, data: Any, to: str | list[str]) -> None:
        """Send an event to a room through python-socketio (off the hot path)."""
        await self._sio.emit(name, data, to=to, namespace=NAMESPACE)

    def send(
        self, name: str, data: Any, to: str | list[str], shared: SharedDeflate | None = None
    ) -> int:
        """Encode once, then send the same packet to every local participant of ``to``.

        No task and no await: on a websocket the message is written before this returns.
        Returns how many connections it went to.
        """
        sio = self._sio
        sockets = sio.eio.sockets
        queues = []
        for _, eio_sid in sio.manager.get_participants(NAMESPACE, to):
            socket = sockets.get(eio_sid)
            if socket is not None and not socket.closed:
                queues.append(socket.queue)
        if queues:
            broadcast(queues, _message(sio, name, data), shared, self.writes)
        return len(queues)

    async def disconnect(self, sid: str) -> None:
        """End a Socket.IO session from the server side (the client is told, and does not
        reconnect by itself); nothing happens if it is gone already."""
        if self._sio.manager.is_connected(sid, NAMESPACE):
            await self._sio.disconnect(sid, namespace=NAMESPACE)

    def connection(self, sid: str) -> Connection | None:
        """The connection of a Socket.IO session, if it is still here."""
        try:
            eio_sid = self._sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        except KeyError:
            return None
        socket = self._sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        if socket is None or not isinstance(socket.queue, SendQueue):
            return None
        return Connection(self._sio, sid, socket, socket.queue)
