"""Shared parts of the benchmarks: server subprocesses and light raw Socket.IO clients.

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
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_argv(port: int, workdir: Path, variant: str = "") -> list[str]:
    """``classroom serve`` on ``port`` with a SQLite store in ``workdir``.

    With a ``variant`` (see ``bench/_serve_variant.py``) it runs through that wrapper.
    """
    entry = [str(ROOT / "bench" / "_serve_variant.py")] if variant else ["-m", "classroom.cli"]
    return [
        sys.executable,
        *entry,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        f"sqlite://{workdir / 'takhti.sqlite3'}",
        "--data-dir",
        str(workdir),
    ]


class ServerProcess:
    """A server subprocess on a free port (``classroom serve`` or the bare relay)."""

    def __init__(
        self, argv: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.argv = argv
        self.extra_env = env or {}
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("not started")
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TAKHTI_LOG_LEVEL": "WARNING"}
        env.update(self.extra_env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)  # readiness poll of an external process
        raise TimeoutError(f"server did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.proc = None


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
