"""WebSocket output written straight to the transport: order, deflate, fallbacks, slow readers."""

from __future__ import annotations

import asyncio
import json
import socket
import zlib
from typing import Any

import aiohttp
import pytest

from classroom import board
from classroom.keys import TRANSPORT
from classroom.wire import MIN_DEFLATE, SHARED_WINDOW_BITS, Outbox, SharedDeflate
from testkit.client import Peer
from tests.conftest import Running

PAGE = board.FIRST_PAGE_ID


class RawStudent:
    """A browser-like Socket.IO client on a raw websocket that offers permessage-deflate."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, extensions: str) -> None:
        self.ws = ws
        self.extensions = extensions
        self.events: list[tuple[str, Any]] = []
        self.acks: dict[int, Any] = {}
        self._next_id = 0

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, url: str, token: str) -> RawStudent:
        ws = await http.ws_connect(
            f"{url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket", compress=15
        )
        extensions = ws._response.headers.get("Sec-WebSocket-Extensions", "")
        opened = await ws.receive_str()
        assert opened.startswith("0{"), opened
        await ws.send_str("40" + json.dumps({"token": token}))
        connected = await ws.receive_str()
        assert connected.startswith("40{"), connected
        return cls(ws, extensions)

    async def read_until(self, done: Any) -> None:
        while not done(self.events):
            message = await asyncio.wait_for(self.ws.receive_str(), 10)
            if message == "2":
                await self.ws.send_str("3")
            elif message.startswith("42["):
                name, data = json.loads(message[2:])
                self.events.append((name, data))
            elif message.startswith("43"):
                bracket = message.index("[")
                self.acks[int(message[2:bracket])] = json.loads(message[bracket:])[0]

    async def call(self, event: str, payload: dict[str, Any]) -> Any:
        self._next_id += 1
        ack_id = self._next_id
        await self.ws.send_str(f"42{ack_id}" + json.dumps([event, payload]))
        await self.read_until(lambda _: ack_id in self.acks)
        return self.acks.pop(ack_id)


def ink_seqs(events: list[tuple[str, Any]]) -> list[int]:
    return [data["seq"] for name, data in events if name.startswith("stroke_")]


async def draw(teacher: Peer, stroke_id: str, batches: int) -> list[int]:
    """One stroke of ``batches`` extend batches, sent as fast as acks come back; its seqs."""
    ack = await teacher.ok(
        "stroke_start",
        {"stroke_id": stroke_id, "page_id": PAGE, "tool": "pen", "color": "#1a1a1a",
         "width": 4, "points": [[10, 10, 0.5, 0]]},
    )  # fmt: skip
    seqs = [ack["seq"]]
    for k in range(1, batches + 1):
        points = [[10.0 + k + i / 4, 20.0 + k, 0.5, float(4 * k + i)] for i in range(4)]
        ack = await teacher.ok(
            "stroke_extend",
            {"stroke_id": stroke_id, "offset": 1 + 4 * (k - 1), "points": points},
        )
        seqs.append(ack["seq"])
    ended = await teacher.ok("stroke_end", {"stroke_id": stroke_id, "length": 1 + 4 * batches})
    seqs.append(ended["seq"])
    return seqs


async def test_every_kind_of_client_gets_the_same_events_in_order(
    running_unlimited: Running,
) -> None:
    """Deflating websocket, plain websocket, long-polling and upgraded clients see one stream."""
    running = running_unlimited
    created = await running.new_class()
    teacher = await running.teacher(str(created["class_id"]))
    code = str(created["join_code"])
    websocket_peer, _ = await running.student(code, "Plain")
    polling_peer = Peer("Polling")
    upgraded_peer = Peer("Upgraded")
    for peer, transports in (
        (polling_peer, ["polling"]),
        (upgraded_peer, ["polling", "websocket"]),
    ):
        joined = await running.api.join(code, peer.name)
        await peer.sio.connect(
            running.url, auth={"token": joined["token"]}, transports=transports, wait_timeout=10
        )
    async with aiohttp.ClientSession() as http:
        joined = await running.api.join(code, "Deflate")
        raw = await RawStudent.connect(http, running.url, joined["token"])
        assert "permessage-deflate" in raw.extensions

        sent = await draw(teacher, "s1", 120)
        await raw.read_until(lambda events: sent[-1] in ink_seqs(events))
        await raw.ws.close()
    for peer in (websocket_peer, polling_peer, upgraded_peer):
        await peer.wait_until(lambda p=peer: sent[-1] in ink_seqs(p.events))

    assert ink_seqs(raw.events) == sent
    expected = [data for name, data in raw.events if name.startswith("stroke_")]
    # Ink batches travel lean; the log keeps the full record (ts, idempotency key, name).
    batch = next(d for d in expected if d["type"] == "stroke_extended")
    assert set(batch) == {"seq", "type", "by", "data"} and set(batch["by"]) == {"role", "id"}
    assert {"ts", "cid"} <= set(expected[0]) and "name" in expected[0]["by"]
    stored = await running.services.store.read_after(str(created["class_id"]), batch["seq"] - 1, 1)
    assert stored[0].ts > 0 and stored[0].client_id and stored[0].actor.name
    assert expected[-1]["type"] == "stroke_ended"
    assert sum(len(d["data"].get("pts", [])) for d in expected) == 4 * (1 + 4 * 120)
    for peer in (websocket_peer, polling_peer, upgraded_peer):
        got = [data for name, data in peer.events if name.startswith("stroke_")]
        assert got == expected, peer.name
    for peer in (teacher, websocket_peer, polling_peer, upgraded_peer):
        await peer.disconnect()


async def test_a_class_is_written_directly_to_every_websocket(running_unlimited: Running) -> None:
    """The fast path, end to end: ink, acks and presence reach websocket clients without ever
    going through a send queue (fails if a library upgrade silently disables it)."""
    running = running_unlimited
    created = await running.new_class()
    teacher = await running.teacher(str(created["class_id"]))
    students = [(await running.student(str(created["join_code"]), f"S{k}"))[0] for k in range(3)]
    writes = running.app[TRANSPORT].writes
    direct, queued = writes.direct, writes.queued
    sent = await draw(teacher, "fast", 20)
    for student in students:
        await student.wait_until(lambda s=student: sent[-1] in ink_seqs(s.events))
    assert writes.queued == queued
    # Every event to the teacher and the 3 students, and an ack for each to the teacher.
    assert writes.direct - direct >= 5 * len(sent)
    for peer in (teacher, *students):
        await peer.disconnect()


async def test_acks_and_broadcasts_interleave_without_reordering(
    running_unlimited: Running,
) -> None:
    """A student busy with its own requests still gets the class's events in log order."""
    running = running_unlimited
    created = await running.new_class()
    teacher = await running.teacher(str(created["class_id"]))
    student, _ = await running.student(str(created["join_code"]))

    async def ask_often() -> int:
        asked = 0
        for _ in range(60):
            page = await student.ok("log_resume", {"after_seq": 0, "limit": 5})
            asked += len(page["events"])
        return asked

    sent, asked = await asyncio.gather(draw(teacher, "s2", 80), ask_often())
    assert asked > 0
    await student.wait_until(lambda: sent[-1] in ink_seqs(student.events))
    assert ink_seqs(student.events) == sent
    await teacher.disconnect()
    await student.disconnect()


async def test_students_on_one_shared_compressor_decode_everything(
    running_unlimited: Running,
) -> None:
    """Students deflating the class's broadcasts together, some also getting big private
    answers (their own compressed messages), all inflate every message correctly."""
    running = running_unlimited
    created = await running.new_class()
    teacher = await running.teacher(str(created["class_id"]))
    async with aiohttp.ClientSession() as http:
        students = []
        for name in ("Ayesha", "Bilal", "Chand"):
            joined = await running.api.join(str(created["join_code"]), name)
            students.append(await RawStudent.connect(http, running.url, joined["token"]))
        sent: list[int] = []
        for round_ in range(4):
            sent += await draw(teacher, f"r{round_}", 30)
            # Bilal reconnects the way a tablet does: a big log_resume answer of its own.
            page = await students[1].call("log_resume", {"after_seq": 0, "limit": 200})
            assert page["ok"] and len(page["events"]) > 20
        for student in students:
            await student.read_until(lambda events: sent[-1] in ink_seqs(events))
            await student.ws.close()
    streams = [[d for n, d in s.events if n.startswith("stroke_")] for s in students]
    assert [d["seq"] for d in streams[0]] == sent
    assert streams[0] == streams[1] == streams[2]
    await teacher.disconnect()


async def test_a_shared_stream_restarts_when_a_follower_leaves_it() -> None:
    """Frame by frame over real sockets: one compression for many, and a restart only when a
    follower got a compressed message of its own in between."""
    loop = asyncio.get_running_loop()
    pairs = [_quiet_pair() for _ in range(3)]
    reads = []
    outboxes = []
    for writer, reader in pairs:
        reader.setblocking(False)
        reads.append(asyncio.ensure_future(_read_to_end(reader, loop)))
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=writer)
        outbox = Outbox(transport, window_bits=SHARED_WINDOW_BITS)  # type: ignore[arg-type]
        outbox.shareable = True
        outboxes.append(outbox)
    shared = SharedDeflate()
    expected: list[list[str]] = [[], [], []]
    for n in range(120):
        if n % 40 == 20:
            private = json.dumps({"events": [{"seq": k, "pts": [k] * 30} for k in range(40)]})
            assert outboxes[1].write(private)
            expected[1].append(private)
        message = '42["stroke_extended",' + json.dumps({"seq": n, "pts": [n, 1.5, 0.5] * 4}) + "]"
        frame = shared.frame(message.encode(), outboxes)
        for k, outbox in enumerate(outboxes):
            assert outbox.write_frame(frame)
            expected[k].append(message)
    # Made once at the start, then again after each of Bilal's 3 private messages.
    assert shared.generation == 4
    for outbox in outboxes:
        outbox.transport.close()
    for k, read in enumerate(reads):
        data = await asyncio.wait_for(read, 10)
        assert [text for text, _ in _inflate_frames(data)] == expected[k]
    for _, reader in pairs:
        reader.close()


def _inflate_frames(data: bytes) -> list[tuple[str, bool]]:
    """Server frames of one connection (text, was it deflated), inflated with one
    context-takeover stream; every frame a whole text message."""
    inflater = zlib.decompressobj(-15)
    got = []
    pos = 0
    while pos < len(data):
        first, second = data[pos], data[pos + 1]
        size, pos = second & 0x7F, pos + 2
        if size == 126:
            size, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif size == 127:
            size, pos = int.from_bytes(data[pos : pos + 8], "big"), pos + 8
        body, pos = data[pos : pos + size], pos + size
        assert first & 0x80 and first & 0x0F == 1  # FIN, text
        if first & 0x40:  # RSV1: deflated
            body = inflater.decompress(body + b"\x00\x00\xff\xff")
        got.append((body.decode(), bool(first & 0x40)))
    return got


def _quiet_pair() -> tuple[socket.socket, socket.socket]:
    """A connected TCP pair whose reading end never reads, with small kernel buffers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    writer = socket.socket()
    writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    writer.connect(listener.getsockname())
    reader, _ = listener.accept()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.close()
    writer.setblocking(False)
    return writer, reader


async def test_a_connection_that_stops_reading_is_dropped_not_buffered_forever() -> None:
    writer, reader = _quiet_pair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=writer)
    outbox = Outbox(transport, max_backlog=256 * 1024)  # type: ignore[arg-type]
    message = json.dumps({"pts": list(range(2000))})
    written = 0
    while outbox.write(message):
        written += 1
        assert written < 10_000, "the backlog limit never triggered"
    assert outbox.dropped
    assert transport.is_closing()
    assert written * len(message) > 256 * 1024
    assert not outbox.write(message)  # further writes are refused, not buffered
    reader.close()


@pytest.mark.parametrize("notakeover", [False, True])
async def test_compressed_frames_inflate_to_the_messages(notakeover: bool) -> None:
    """What the outbox writes is valid permessage-deflate: RSV1 set, tail stripped, in order."""
    writer, reader = _quiet_pair()
    reader.setblocking(False)
    loop = asyncio.get_running_loop()
    received = asyncio.ensure_future(_read_to_end(reader, loop))
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=writer)
    outbox = Outbox(transport, window_bits=SHARED_WINDOW_BITS, notakeover=notakeover)  # type: ignore[arg-type]
    messages = [
        '42["stroke_extended",' + json.dumps({"seq": n, "pts": [n, n / 3, 0.5] * (n % 50)}) + "]"
        for n in range(300)
    ] + ["x" * 70_000, "after the big one"]
    for message in messages:
        assert outbox.write(message)
    transport.close()  # flushes, then sends FIN
    data = await asyncio.wait_for(received, 10)
    frames = _inflate_frames(data)
    assert [text for text, _ in frames] == messages
    plain = [text for text, deflated in frames if not deflated]
    assert plain and max(len(text) for text in plain) < MIN_DEFLATE  # only tiny ones
    reader.close()


async def _read_to_end(sock: socket.socket, loop: asyncio.AbstractEventLoop) -> bytes:
    chunks = []
    while chunk := await loop.sock_recv(sock, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)
