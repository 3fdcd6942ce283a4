"""Frames a hostile student writes by hand, over real sockets against the whole server.

``connect`` sent as an ordinary event used to re-run the connect handler (rate limits reset at
will, a presence event appended each time, the connected metric counting one student thousands
of times, the socket switching classes); a packet declaring billions of binary attachments had
the server buffer every one of them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import psutil

from classroom import roster
from classroom.errors import UnknownEvent
from testkit.client import Peer
from tests.conftest import Running

# Names python-socketio gives a meaning to, and the stand-ins classroom/transport.py uses.
RESERVED = [
    "connect",
    "disconnect",
    "connect_error",
    "message",
    "*",
    "\x00malformed",
    "\x00unknown",
]


class HandWritten:
    """A student's Socket.IO connection on a bare websocket, frames written by the test."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._next_id = 0

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, url: str, token: str) -> HandWritten:
        ws = await http.ws_connect(
            url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        )
        assert (await ws.receive_str()).startswith("0{")
        await ws.send_str("40" + json.dumps({"token": token}))
        connected = await ws.receive_str()
        assert connected.startswith("40{"), connected
        return cls(ws)

    async def call(self, name: str, payload: Any) -> Any:
        self._next_id += 1
        ack_id = self._next_id
        await self.ws.send_str(f"42{ack_id}" + json.dumps([name, payload]))
        while True:
            message = await asyncio.wait_for(self.ws.receive_str(), 10)
            if message == "2":
                await self.ws.send_str("3")
            elif message.startswith(f"43{ack_id}["):
                return json.loads(message[2 + len(str(ack_id)) :])[0]


def connected_students(running: Running) -> float:
    return float(running.services.metrics.connected.labels(role="student")._value.get())


async def presence_events(running: Running, class_id: str) -> list[str]:
    events = await running.services.store.read_after(class_id, 0, 10_000)
    return [e.type for e in events if e.type in ("student_connected", "student_disconnected")]


async def test_reserved_names_sent_as_events_run_no_handler(running: Running) -> None:
    """Each is answered UNKNOWN_EVENT: no second connect, no presence, no reset, no new class."""
    created = await running.new_class()
    class_id = str(created["class_id"])
    other = await running.api.create_class(running.teacher_token, "Class 6 Science")
    other_token = (await running.api.join(str(other["join_code"]), "Zara"))["token"]
    joined = await running.api.join(str(created["join_code"]), "Ali")
    teacher = await running.teacher(class_id)
    async with aiohttp.ClientSession() as http:
        student = await HandWritten.connect(http, running.url, joined["token"])
        await teacher.wait_until(lambda: "student_connected" in kinds(teacher))
        assert await presence_events(running, class_id) == ["student_connected"]
        assert connected_students(running) == 1
        # Spend the snapshot allowance (the read bucket: burst 20, 5/s).
        answers = [await student.call("class_snapshot", {}) for _ in range(25)]
        assert not answers[-1]["ok"] and answers[-1]["error"]["code"] == "RATE_LIMITED"
        loop = asyncio.get_running_loop()
        started = loop.time()
        for name in RESERVED:
            for payload in ({"token": other_token}, {"token": joined["token"]}, "bye", None):
                ack = await student.call(name, payload)
                assert ack["ok"] is False and ack["error"]["code"] == UnknownEvent.code, name
        # The rate limit was not reset: only what refilled since is allowed.
        allowed = 0
        for _ in range(10):
            allowed += bool((await student.call("class_snapshot", {}))["ok"])
        assert allowed <= 2 + 5 * (loop.time() - started)
        assert connected_students(running) == 1
        assert await presence_events(running, class_id) == ["student_connected"]
        assert await presence_events(running, str(other["class_id"])) == []
        await student.ws.close()
    # Presence goes offline with the only socket, and the student is counted out.
    await teacher.wait_until(lambda: "student_disconnected" in kinds(teacher))
    assert connected_students(running) == 0
    assert await presence_events(running, class_id) == [
        "student_connected",
        "student_disconnected",
    ]
    runtime = await running.services.hub.get(class_id)
    assert [s["online"] for s in roster.roster(runtime.state.roster)] == [False]
    await teacher.disconnect()


def kinds(peer: Peer) -> list[str]:
    return [data.get("type", "") for _, data in peer.events if isinstance(data, dict)]


async def test_a_packet_declaring_billions_of_attachments_is_refused_unbuffered(
    running_sqlite: Running,
) -> None:
    """Three students each announce 9,999,999,999 attachments, then try to send 100 MB of them:
    each connection is closed at the announcement and the server's memory does not grow."""
    running = running_sqlite
    created = await running.new_class()
    teacher = await running.teacher(str(created["class_id"]))
    server = psutil.Process()
    chunk = b"\x00" * (1 << 20)
    async with aiohttp.ClientSession() as http:
        students = []
        for name in ("Ayesha", "Bilal", "Chand"):
            joined = await running.api.join(str(created["join_code"]), name)
            students.append(await HandWritten.connect(http, running.url, joined["token"]))
        rss_before = server.memory_info().rss
        pushed = []
        for student in students:
            await student.ws.send_str('59999999999-["clock_sync",{"_placeholder":true,"num":0}]')
            sent = 0
            try:
                for _ in range(100):
                    await student.ws.send_bytes(chunk)
                    sent += len(chunk)
                    if student.ws.closed:
                        break
                    await asyncio.sleep(0)
            except (ConnectionError, RuntimeError):
                pass
            pushed.append(sent)
            message = await asyncio.wait_for(student.ws.receive(), 10)
            while message.type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                       aiohttp.WSMsgType.ERROR):  # fmt: skip
                message = await asyncio.wait_for(student.ws.receive(), 10)
        grown = server.memory_info().rss - rss_before
    assert grown < 30 * (1 << 20), f"RSS grew {grown / 2**20:.0f} MB; pushed {pushed}"
    # The class goes on for the teacher.
    ack = await teacher.ok("clock_sync", {"client_time_ms": 1.0})
    assert ack["client_time_ms"] == 1.0
    await teacher.disconnect()
