"""A light Socket.IO v4 client over a raw aiohttp websocket, for crowds of simulated students.

python-socketio's ``AsyncClient`` costs a client session, several tasks and full JSON decoding of
every message; a thousand of them on a 2-core box would measure the clients, not the server. This
client speaks just enough Engine.IO v4 / Socket.IO v4 (websocket transport, default namespace):
the open handshake, answering pings, events with acks. Broadcasts it does not care about are
counted by name without decoding their JSON.

Used by ``bench/votes.py`` and ``tests/classroom/test_exactly_once.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from testkit.client import with_client_id

# Broadcasts whose payload a crowd client keeps (decoded); the rest are only counted.
KEPT_EVENTS = frozenset(
    {
        "poll_opened",
        "poll_voted",
        "poll_tally",
        "quiz_question_opened",
        "quiz_question_closed",
        "quiz_answered",
    }
)


class ConnectRefused(Exception):
    """The server refused the Socket.IO connection (bad token, unknown class ...)."""


@dataclass(eq=False)
class CrowdClient:
    """One simulated device: a websocket speaking Socket.IO v4 on the default namespace."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    # (event, data, time.perf_counter() when received) of the KEPT_EVENTS.
    kept: list[tuple[str, Any, float]] = field(default_factory=list)
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _reader: asyncio.Task[None] | None = None
    _next_id: int = 0
    _pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _connected: asyncio.Future[Any] | None = None
    _kept_changed: asyncio.Event = field(default_factory=asyncio.Event)
    _pongs: set[asyncio.Future[None]] = field(default_factory=set)

    async def connect(
        self, http: aiohttp.ClientSession, base_url: str, auth: dict[str, Any], timeout: float = 30
    ) -> None:
        url = base_url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
        self._ws = await asyncio.wait_for(
            http.ws_connect(
                url,
                autoping=False,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10),
            ),
            timeout,
        )
        opened = await asyncio.wait_for(self._ws.receive(), timeout)
        if not (isinstance(opened.data, str) and opened.data.startswith("0")):
            raise ConnectRefused(f"{self.name}: unexpected Engine.IO open {opened.data!r}")
        self._connected = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(), name=f"crowd-{self.name}")
        await self._ws.send_str("40" + json.dumps(auth, separators=(",", ":")))
        await asyncio.wait_for(asyncio.shield(self._connected), timeout)

    async def _read(self) -> None:
        ws = self._ws
        if ws is None:
            return
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                self._on_text(message.data)
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            failure = ConnectionError(f"{self.name}: connection closed")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(failure)
            self._pending.clear()
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(failure)

    def _on_text(self, data: str) -> None:
        kind = data[:2]
        if data == "2":  # Engine.IO ping
            if self._ws is not None:
                self._pongs.add(asyncio.ensure_future(self._ws.send_str("3")))
                self._pongs = {pong for pong in self._pongs if not pong.done()}
        elif kind == "42":
            end = data.find('"', 4)
            name = data[4:end] if data.startswith('42["') else "?"
            self.counts[name] += 1
            if name in KEPT_EVENTS:
                event, *args = json.loads(data[2:])
                self.kept.append((event, args[0] if args else None, time.perf_counter()))
                self._kept_changed.set()
        elif kind == "43":
            bracket = data.index("[")
            future = self._pending.pop(int(data[2:bracket]), None)
            if future is not None and not future.done():
                values = json.loads(data[bracket:])
                future.set_result(values[0] if values else None)
        elif kind == "40" and self._connected is not None and not self._connected.done():
            self._connected.set_result(json.loads(data[2:] or "{}"))
        elif kind == "44" and self._connected is not None and not self._connected.done():
            self._connected.set_exception(ConnectRefused(f"{self.name}: {data[2:]}"))

    async def call(self, event: str, payload: Any, timeout: float = 30) -> dict[str, Any]:
        """Emit ``event`` with an ack and return the ack (a fresh ``client_id`` is added where the
        event needs one and the payload has none)."""
        payload = with_client_id(event, payload)
        if self._ws is None:
            raise ConnectionError(f"{self.name}: not connected")
        self._next_id += 1
        ack_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ack_id] = future
        packet = json.dumps([event, payload], separators=(",", ":"), ensure_ascii=False)
        await self._ws.send_str(f"42{ack_id}{packet}")
        try:
            return dict(await asyncio.wait_for(future, timeout))
        finally:
            self._pending.pop(ack_id, None)

    async def timed_call(self, event: str, payload: Any) -> tuple[dict[str, Any], float]:
        """``call`` and the milliseconds from sending to the ack."""
        started = time.perf_counter()
        ack = await self.call(event, payload)
        return ack, (time.perf_counter() - started) * 1000

    def kept_of(self, event: str) -> list[Any]:
        return [data for name, data, _ in self.kept if name == event]

    async def wait_for_event(self, event: str, timeout: float = 30) -> Any:
        """The first kept ``event`` received (waiting for it if needed)."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.kept_of(event)
                if found:
                    return found[0]
                self._kept_changed.clear()
                await self._kept_changed.wait()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        """Wait until ``predicate()`` holds, checking after each kept event."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._kept_changed.clear()
                await self._kept_changed.wait()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader
        self._ws = None
        self._reader = None


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]
