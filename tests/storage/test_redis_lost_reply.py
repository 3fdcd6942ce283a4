"""A Redis append whose reply is lost is retried by redis-py and must not be stored twice.

Between the store and a real redis-server sits a TCP relay that, once, lets an append script
call reach Redis (which runs it and writes the AOF) and then drops the connection instead of
passing the reply on: what the client sees when Redis is SIGKILLed right after a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import pytest

from classroom.log import Actor, NewEvent
from classroom.storage.redis import RedisStore
from testkit.procs import RedisServer

TEACHER = Actor("teacher", "amina", "amina")


class LosingRelay:
    """Relays Redis connections; ``lose_next_reply_to`` drops one reply to a chosen command."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lose_next_reply_to: bytes | None = None
        self.lost = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        losing = asyncio.Event()

        async def to_redis() -> None:
            while data := await reader.read(65536):
                marker = self.lose_next_reply_to
                if marker is not None and marker in data:
                    self.lose_next_reply_to = None
                    losing.set()
                up_writer.write(data)
                await up_writer.drain()

        async def to_client() -> None:
            while data := await up_reader.read(65536):
                if losing.is_set():
                    # Redis ran the command and answered; the client never hears it.
                    self.lost += 1
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.create_task(to_redis()), asyncio.create_task(to_client())]
        self._tasks.update(tasks)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                self._tasks.discard(task)
            writer.close()
            up_writer.close()


@pytest.fixture
async def relay(redis_server: RedisServer) -> AsyncIterator[LosingRelay]:
    relay = LosingRelay(redis_server.port)
    await relay.start()
    yield relay
    await relay.close()


@pytest.mark.parametrize("keyed", [True, False], ids=["services-key", "store-key"])
async def test_an_append_whose_reply_was_lost_is_stored_once(
    relay: LosingRelay, keyed: bool
) -> None:
    store = RedisStore(relay.url)
    await store.open()
    try:
        class_id = f"c_{secrets.token_hex(6)}"
        await store.append(class_id, [NewEvent("poll_created", TEACHER, {"n": 0})])
        relay.lose_next_reply_to = b"EVALSHA"
        poll = NewEvent("poll_created", TEACHER, {"n": 1}, append_key="lost.1#0" if keyed else None)
        [result] = await store.append(class_id, [poll])
        assert relay.lost == 1  # the reply really was lost and redis-py retried
        assert result.event.seq == 2 and result.event.data == {"n": 1}
        assert result.duplicate  # the retry found what the first try stored
        assert [e.data["n"] for e in await store.read_after(class_id, 0, 10)] == [0, 1]
    finally:
        await store.close()
