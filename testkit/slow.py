"""A slow link (a TCP relay that passes the server's bytes on at a chosen rate) and a Socket.IO
client over a raw websocket that records when each event arrived.

Through the relay the server sees what a tablet on a weak link makes it see: TCP backpressure,
its own send buffer filling, not a client that takes everything at once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from typing import Any

import aiohttp


class SlowLink:
    """A relay to ``upstream`` (an http://host:port URL) passing its answers on at
    ``bytes_per_s``; what is not passed on yet stays in the upstream server's buffers."""

    def __init__(self, upstream: str, bytes_per_s: float) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self._upstream = (host, int(port))
        self.bytes_per_s = bytes_per_s
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> SlowLink:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window, set before connecting so the kernel keeps it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, self._upstream)
        up_reader, up_writer = await asyncio.open_connection(sock=sock, limit=16 * 1024)
        tasks = {
            asyncio.create_task(self._copy(reader, up_writer, None)),
            asyncio.create_task(self._copy(up_reader, writer, self.bytes_per_s)),
        }
        self._tasks |= tasks
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.close()
        self._tasks -= tasks

    @staticmethod
    async def _copy(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rate: float | None
    ) -> None:
        while data := await reader.read(16 * 1024):
            writer.write(data)
            await writer.drain()
            if rate:
                await asyncio.sleep(len(data) / rate)  # the link's speed, not synchronisation

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()


class SlowSocket:
    """Engine.IO 4 / Socket.IO 5 on the default namespace, text only, no compression."""

    def __init__(self, *, parse_big_acks: bool = True) -> None:
        # A client on another machine parses its own answers; in a test it shares the loop
        # with the server, so a client that only floods may leave big answers unparsed.
        self.parse_big_acks = parse_big_acks
        self.received_bytes = 0
        self.closed = asyncio.Event()
        self.events: list[tuple[float, str, Any]] = []  # (monotonic time, name, data)
        self._http = aiohttp.ClientSession()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._connected: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reader: asyncio.Task[None] | None = None
        self._pongs: set[asyncio.Future[None]] = set()

    async def connect(self, url: str, auth: dict[str, Any]) -> None:
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self._ws = await self._http.ws_connect(ws_url, compress=0, max_msg_size=0, autoping=False)
        opened = await self._ws.receive_str()
        if not opened.startswith("0"):
            raise AssertionError(f"not an Engine.IO open packet: {opened[:80]}")
        self._reader = asyncio.create_task(self._read())
        await self._ws.send_str("40" + json.dumps(auth))
        await asyncio.wait_for(self._connected, 10)

    async def call(self, event: str, payload: Any, timeout: float = 60) -> dict[str, Any]:
        if self._ws is None:
            raise AssertionError("not connected")
        ack_id = next(self._ids)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = answer
        await self._ws.send_str(f"42{ack_id}" + json.dumps([event, payload]))
        result: dict[str, Any] = await asyncio.wait_for(answer, timeout)
        return result

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                text: str = message.data
                self.received_bytes += len(text)
                self._handle(text)
        finally:
            self.closed.set()
            for answer in self._acks.values():
                if not answer.done():
                    answer.set_exception(ConnectionError("the connection closed"))

    def _handle(self, text: str) -> None:
        assert self._ws is not None
        if text == "2":
            pong = asyncio.ensure_future(self._ws.send_str("3"))
            self._pongs.add(pong)
            pong.add_done_callback(self._pongs.discard)
        elif text.startswith("40"):
            if not self._connected.done():
                self._connected.set_result(json.loads(text[2:]))
        elif text.startswith("44"):
            if not self._connected.done():
                self._connected.set_exception(AssertionError(f"refused: {text[:200]}"))
        elif text.startswith("43"):
            body = text[2:]
            start = body.index("[")
            answer = self._acks.pop(int(body[:start]), None)
            if answer is None or answer.done():
                return
            if (
                not self.parse_big_acks
                and len(body) > 4096
                and body[start:].startswith('[{"ok":true')
            ):
                answer.set_result({"ok": True, "bytes": len(body)})
            else:
                answer.set_result(json.loads(body[start:])[0])
        elif text.startswith("42"):
            name, *args = json.loads(text[2:])
            self.events.append((asyncio.get_running_loop().time(), name, args[0] if args else None))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._http.close()
