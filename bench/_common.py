"""Shared parts of the benchmarks: light raw Socket.IO clients, a log line, percentiles.

Server subprocesses come from :mod:`testkit.procs` (shared with the tests).

The clients speak the Engine.IO v4 / Socket.IO v5 text protocol directly over ``websockets`` so
that hundreds of them fit in one process and cost little CPU next to the server being measured:

* ``0{...}`` Engine.IO open, ``40{auth}`` / ``40{...}`` Socket.IO connect (namespace ``/``);
* ``2`` ping from the server, answered with ``3``;
* ``42["event",data]`` an event, ``42<id>["event",data]`` one that wants an ack,
  ``43<id>[ack]`` the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
from websockets.asyncio.client import ClientConnection, connect

from testkit.procs import ROOT
from testkit.procs import serve_argv as kit_serve_argv


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def serve_argv(port: int, workdir: Path, variant: str = "") -> list[str]:
    """``classroom serve`` on ``port`` with a SQLite store in ``workdir``.

    With a ``variant`` (see ``bench/_serve_variant.py``) it runs through that wrapper.
    """
    entry = [str(ROOT / "bench" / "_serve_variant.py")] if variant else None
    return kit_serve_argv(port, workdir, entry=entry)


class CountingConnection(ClientConnection):
    """A websockets client connection that counts the bytes it receives off the wire."""

    wire_bytes = 0

    def data_received(self, data: bytes) -> None:
        self.wire_bytes += len(data)
        super().data_received(data)


class RawSocket:
    """One Socket.IO connection over a raw websocket (namespace ``/``)."""

    def __init__(self, ws: CountingConnection) -> None:
        self.ws = ws
        self._next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}

    @classmethod
    async def open(cls, url: str, auth: dict[str, Any], *, deflate: bool = True) -> RawSocket:
        ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        ws = await connect(
            ws_url,
            compression="deflate" if deflate else None,
            create_connection=CountingConnection,
            ping_interval=None,
            max_size=None,
            open_timeout=60,
        )
        opened = await ws.recv()
        if not str(opened).startswith("0"):
            raise RuntimeError(f"unexpected open packet {opened!r}")
        await ws.send("40" + json.dumps(auth))
        while True:
            answer = str(await ws.recv())
            if answer == "2":
                await ws.send("3")
                continue
            if answer.startswith("40"):
                return cls(ws)  # type: ignore[arg-type]
            if answer.startswith("42"):
                # An event can overtake the connect answer (sent while the server's connect
                # handler still runs); socket.io clients buffer it, the bench skips it.
                continue
            raise RuntimeError(f"connect refused: {answer[:200]}")

    async def call(self, event: str, data: Any) -> asyncio.Future[Any]:
        """Send an event that wants an ack; the future resolves with the ack."""
        self._next_id += 1
        ack_id = self._next_id
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[ack_id] = fut
        await self.ws.send(f"42{ack_id}" + json.dumps([event, data], separators=(",", ":")))
        return fut

    def handle_ack(self, message: str) -> None:
        """Resolve the future of an ``43<id>[...]`` message."""
        bracket = message.index("[")
        fut = self.pending.pop(int(message[2:bracket]), None)
        if fut is not None and not fut.done():
            fut.set_result(json.loads(message[bracket:])[0])

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    """``asyncio.gather`` with at most ``limit`` coroutines running at once."""
    gate = asyncio.Semaphore(limit)

    async def run(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(run(c) for c in coros)))


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]
