"""Run the application on its socket so that running out of descriptors cannot stop it.

- Idle and half-open HTTP connections are closed after ``Settings.http_idle_timeout_s``
  (aiohttp's keep-alive timer also runs from the moment a connection opens, so headers that
  never finish are cut off too); request bodies that stall time out in the routes.
- The open-file limit is raised to the hard limit at start (often 1,024 soft, far more hard).
- HTTP connections are capped below that limit, keeping a reserve of descriptors for the
  store, Redis, logs and the picture worker. At the cap the oldest idle connection (no request
  in progress: an idle keep-alive or headers that never finished) is closed to make room, so
  /healthz and joins still get in; only when every connection is busy is the newcomer told
  503 BUSY and closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import signal
import socket
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

logger = logging.getLogger(__name__)

# Descriptors kept out of the HTTP cap: the store (SQLite WAL: 3 per connection), Redis
# pools, log files, the event loop's own, the picture worker, accept() itself.
RESERVE_FDS = 64
# Sockets asyncio accepts before the guard sees them (well inside the reserve), and the
# kernel's queue of connections waiting to be accepted.
ACCEPT_BATCH = 16
# A refused connection waits this long for its request (so it is read, not reset), and at
# most this many wait at once, inside the descriptor reserve.
REFUSAL_LINGER_S = 0.5
MAX_LINGERING_REFUSALS = 32
LISTEN_BACKLOG = 1024

_BUSY_BODY = json.dumps(
    {"ok": False, "error": {"code": "BUSY", "message": "the server is full; try again"}}
).encode()
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n"
    b"Content-Type: application/json\r\nContent-Length: "
    + str(len(_BUSY_BODY)).encode()
    + b"\r\n\r\n"
    + _BUSY_BODY
)


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open-file limit from %d: %s", soft, exc)
    return int(soft if soft != resource.RLIM_INFINITY else target)


def connection_cap(open_file_limit: int) -> int:
    """HTTP connections allowed for an open-file limit, keeping a reserve for everything else."""
    reserve = max(RESERVE_FDS, open_file_limit // 10)
    return max(8, open_file_limit - reserve)


# The two reaches into aiohttp's private handler state (aiohttp 3.14), pinned by
# tests/classroom/test_serving.py: it fails when idle connections are no longer found.


def _is_idle(handler: RequestHandler) -> bool:
    """No request in progress on this connection (idle keep-alive, or unfinished headers)."""
    return getattr(handler, "_current_request", True) is None and handler.transport is not None


def _not_yet_made(handler: RequestHandler) -> bool:
    """Handed to asyncio, connection not made yet (a closed one has no manager any more)."""
    return handler.transport is None and getattr(handler, "_manager", None) is not None


class _Refuse(asyncio.Protocol):
    """Answers 503 BUSY and closes, once the request has been read (or after a moment).

    Closing a socket with the client's request still unread makes the kernel send a reset,
    which can reach the client before the 503 does.
    """

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.transport: asyncio.BaseTransport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(_BUSY_RESPONSE)
        if self.guard.lingering >= MAX_LINGERING_REFUSALS:
            transport.close()
            return
        self.guard.lingering += 1
        self.timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER_S, self._close)

    def data_received(self, data: bytes) -> None:
        self._close()

    def eof_received(self) -> bool:
        self._close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._close()

    def _close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.guard.lingering -= 1
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class ConnectionGuard:
    """The protocol factory of the listening socket: aiohttp's, behind a connection cap.

    asyncio accepts up to ``ACCEPT_BATCH`` sockets before it asks this factory about any of
    them, and a connection is counted by aiohttp only once it is made: both lags stay inside
    the descriptor reserve.
    """

    def __init__(self, server: web.Server, max_connections: int) -> None:
        self.server = server
        self.max_connections = max_connections
        self.evicted = 0
        self.refused = 0
        self.lingering = 0  # refused connections waiting for their request before closing
        self._unmade: list[tuple[RequestHandler, float]] = []

    def __call__(self) -> asyncio.BaseProtocol:
        now = time.monotonic()
        # Handlers handed out whose connection is not made yet (or failed to be).
        self._unmade = [(h, t) for h, t in self._unmade if _not_yet_made(h) and now - t < 2]
        connections = self.server.connections
        if len(connections) + len(self._unmade) >= self.max_connections:
            idle = next((handler for handler in connections if _is_idle(handler)), None)
            if idle is None:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    logger.warning(
                        "%d connections open, all busy: refusing new ones (%d so far)",
                        len(connections),
                        self.refused,
                    )
                return _Refuse(self)
            self.evicted += 1
            idle.force_close()
        handler = self.server()
        self._unmade.append((handler, now))
        return handler


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    def __init__(
        self, runner: web.BaseRunner, guard: ConnectionGuard, host: str, port: int
    ) -> None:
        super().__init__(runner, backlog=ACCEPT_BATCH)
        self.guard = guard
        self.host = host
        self.port = port

    @property
    def name(self) -> str:
        return f"http://{self.host or '0.0.0.0'}:{self.port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        host = self.host or "0.0.0.0"
        listening = socket.create_server((host, self.port), family=_family(host))
        listening.setblocking(False)
        self.port = int(listening.getsockname()[1])
        self._server = await loop.create_server(self.guard, sock=listening, backlog=ACCEPT_BATCH)
        # asyncio uses one number for the kernel's queue and for how many sockets it accepts
        # in a row: keep the batch small but let the kernel queue a whole class joining.
        listening.listen(LISTEN_BACKLOG)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    idle_timeout_s: float,
    access_log: bool,
    on_listening: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then shut down cleanly."""
    open_files = raise_open_file_limit()
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=5,
        keepalive_timeout=idle_timeout_s,
        # After an early answer (413, 408) read what the client still sends for at most
        # this long: it was 10 s per stalled request.
        lingering_time=1.0,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
    )
    await runner.setup()
    if runner.server is None:  # pragma: no cover - setup() always makes one
        raise RuntimeError("the application did not start")
    guard = ConnectionGuard(runner.server, connection_cap(open_files))
    site = GuardedSite(runner, guard, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await site.start()
        logger.info(
            "listening on %s; open-file limit %d, at most %d connections",
            site.name,
            open_files,
            guard.max_connections,
        )
        if on_listening is not None:
            await on_listening()
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)
        await runner.cleanup()
