"""The live class of ``bench/abuse.py``, in its own process: a teacher drawing, students receiving.

* The teacher (``_common.RawSocket``) draws at 30 batches/s like ``bench/fanout.py``: one stroke
  at a time, one message in flight, 2-4 points a tick, a stroke ends after 1-2 s. The send time of
  each ink message is kept by (stroke id, offset) while a phase is recorded.
* Each real student is a ``_receiver.Receiver`` (deflate on, like a browser) on its own loopback
  address; it records the arrival of every ink message. Latency = arrival - send.
* A student whose connection closes is counted as a disconnect of the running phase and
  reconnected at once with the same token (a real tablet would do the same), so every phase
  starts with the whole class. The teacher is reconnected the same way.

Commands on the pipe: ``("mark", phase)``, ``("stop", grace_s)``, ``("count",)``,
``("call", event, payload)``, ``("quit",)``; answers ``("marked", connected)``,
``("result", summary)``, ``("count", connected)``, ``("ack", value)``, ``("bye",)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from multiprocessing.connection import Connection
from typing import Any

from _abuse_clients import open_student
from _common import RawSocket, gather_limited, percentile
from _receiver import Receiver, Record

TICK_S = 1 / 30
ACK_TIMEOUT_S = 5.0


def class_process(
    url: str,
    teacher_auth: dict[str, Any],
    students: list[tuple[dict[str, Any], str]],
    pipe: Connection,
) -> None:
    asyncio.run(_class(url, teacher_auth, students, pipe))


async def _commands(pipe: Connection) -> asyncio.Queue[Any]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    asyncio.get_running_loop().add_reader(pipe.fileno(), lambda: queue.put_nowait(pipe.recv()))
    return queue


class Teacher:
    """The teacher's console: draws, reconnects when dropped, times its acks."""

    def __init__(self, url: str, auth: dict[str, Any]) -> None:
        self.url = url
        self.auth = auth
        self.sock: RawSocket | None = None
        self.recording = False
        self.sent: dict[tuple[str, int], float] = {}
        self.ack_ms: list[float] = []
        self.stats = {"messages": 0, "errors": 0, "timeouts": 0, "disconnects": 0}
        self._reader: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    async def connect(self) -> None:
        self.sock = await RawSocket.open(self.url, self.auth)
        self._lost.clear()
        self._reader = asyncio.create_task(self._read(self.sock))

    async def _read(self, sock: RawSocket) -> None:
        try:
            async for message in sock.ws:
                if message == "2":
                    await sock.ws.send("3")
                elif isinstance(message, str) and message.startswith("43"):
                    sock.handle_ack(message)
        except Exception:
            pass
        for fut in sock.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("teacher connection lost"))
                fut.exception()
        self._lost.set()

    async def call(self, event: str, payload: Any, timeout: float = ACK_TIMEOUT_S) -> Any:
        if self.sock is None or self._lost.is_set():
            raise ConnectionError("teacher not connected")
        fut = await self.sock.call(event, payload)
        return await asyncio.wait_for(fut, timeout)

    async def _reconnect(self) -> None:
        self.stats["disconnects"] += 1
        while True:
            try:
                await self.connect()
                return
            except Exception:
                await asyncio.sleep(0.5)

    async def draw(self) -> None:
        rng = random.Random(7)
        serial = 0
        next_tick = time.monotonic()
        while True:
            if self._lost.is_set():
                await self._reconnect()
                next_tick = time.monotonic()
            serial += 1
            stroke_id = f"t{serial}"
            t0 = time.monotonic()
            x, y = rng.uniform(200, 1700), rng.uniform(150, 900)
            points: list[list[float]] = []
            acked = 0
            started = False
            ticks = rng.randint(30, 60)
            inflight: asyncio.Future[Any] | None = None
            flight: tuple[str, int, int, float] = ("", 0, 0, 0.0)
            while True:
                next_tick += TICK_S
                if ticks > 0:
                    for _ in range(rng.randint(2, 4)):
                        x = min(1900.0, max(20.0, x + rng.uniform(-6, 6)))
                        y = min(1060.0, max(20.0, y + rng.uniform(-6, 6)))
                        t = round((time.monotonic() - t0) * 1000)
                        points.append(
                            [round(x, 1), round(y, 1), round(rng.uniform(0.3, 0.8), 3), t]
                        )
                    ticks -= 1
                if inflight is not None and inflight.done():
                    kind, offset, count, _ = flight
                    ack = _result(inflight)
                    inflight = None
                    if not isinstance(ack, dict) or not ack.get("ok"):
                        error = ack.get("error", {}) if isinstance(ack, dict) else {}
                        if error.get("code") == "GAP" and "expected_offset" in error:
                            started = True
                            acked = int(error["expected_offset"])
                        else:
                            self.stats["errors"] += 1
                            break  # give this stroke up; start another
                    elif kind == "end":
                        break
                    else:
                        started = True
                        acked = max(acked, offset + count)
                elif inflight is not None and time.monotonic() - flight[3] > ACK_TIMEOUT_S:
                    self.stats["timeouts"] += 1
                    break
                if self._lost.is_set():
                    break
                if inflight is None:
                    batch = points[acked : acked + 64]
                    event = flight_kind = ""
                    offset = 0
                    payload: dict[str, Any] = {}
                    if not started:
                        payload = {
                            "stroke_id": stroke_id,
                            "page_id": "page-1",
                            "tool": "pen",
                            "color": "#1a1a1a",
                            "width": 4,
                            "points": batch,
                        }
                        event, flight_kind = "stroke_start", "start"
                    elif batch:
                        payload = {"stroke_id": stroke_id, "offset": acked, "points": batch}
                        event, flight_kind, offset = "stroke_extend", "extend", acked
                    elif ticks <= 0:
                        payload = {"stroke_id": stroke_id, "length": len(points)}
                        event, flight_kind = "stroke_end", "end"
                    if event and self.sock is not None:
                        at = time.monotonic()
                        if self.recording and event != "stroke_end":
                            self.sent[(stroke_id, offset)] = at
                        try:
                            fut = await self.sock.call(event, payload)
                        except Exception:
                            self._lost.set()
                            break
                        fut.add_done_callback(
                            lambda _, at=at: self.ack_ms.append((time.monotonic() - at) * 1000)
                        )
                        inflight = fut
                        flight = (flight_kind, offset, len(batch), at)
                        self.stats["messages"] += 1
                await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            if time.monotonic() - next_tick > 1.0:
                next_tick = time.monotonic()  # after a stall, do not rush to catch up


def _result(fut: asyncio.Future[Any]) -> Any:
    if fut.cancelled() or fut.exception() is not None:
        return None
    return fut.result()


class Students:
    """The real students: receivers that are reconnected (and counted) when they drop."""

    def __init__(self, url: str, students: list[tuple[dict[str, Any], str]]) -> None:
        self.url = url
        self.students = students
        self.flags = {"recording": False}
        self.records: list[list[Record]] = [[] for _ in students]
        self.receivers: list[Receiver | None] = [None] * len(students)
        self.disconnects = 0
        self.reconnect_failures = 0
        self._reconnecting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self, index: int) -> Receiver:
        auth, ip = self.students[index]
        receiver = await open_student(self.url, auth, self.records[index], self.flags, ip)
        self.receivers[index] = receiver
        return receiver

    async def open_all(self) -> None:
        await gather_limited([self.open(i) for i in range(len(self.students))], 8)

    def connected(self) -> int:
        return sum(1 for r in self.receivers if r is not None and not r.closed)

    async def watch(self) -> None:
        while True:
            for index, receiver in enumerate(self.receivers):
                if receiver is not None and receiver.closed and index not in self._reconnecting:
                    self.disconnects += 1
                    self._reconnecting.add(index)
                    task = asyncio.create_task(self._reconnect(index))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(0.2)

    async def _reconnect(self, index: int) -> None:
        try:
            while True:
                try:
                    await self.open(index)
                    return
                except Exception:
                    self.reconnect_failures += 1
                    await asyncio.sleep(0.5)
        finally:
            self._reconnecting.discard(index)

    def close(self) -> None:
        for receiver in self.receivers:
            if receiver is not None and receiver.transport is not None:
                receiver.transport.close()


def summarise(
    sent: dict[tuple[str, int], float],
    records: list[list[Record]],
    end: float,
) -> dict[str, Any]:
    """Ink latency over every (send, student) pair; a missing delivery counts as end - send."""
    latencies: list[float] = []
    missing = 0
    for student in records:
        first: dict[tuple[str, int], float] = {}
        for stroke_id, offset, arrived in student:
            key = (stroke_id, offset)
            if key in sent and key not in first:
                first[key] = arrived
        for key, at in sent.items():
            arrived = first.get(key)
            if arrived is None:
                missing += 1
                latencies.append((end - at) * 1000)
            else:
                latencies.append((arrived - at) * 1000)
    latencies.sort()
    return {
        "ink_sends": len(sent),
        "ink_deliveries": len(latencies) - missing,
        "ink_missing": missing,
        "ink_p50_ms": round(percentile(latencies, 0.5), 2) if latencies else None,
        "ink_p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "ink_max_ms": round(latencies[-1], 1) if latencies else None,
    }


async def _class(
    url: str,
    teacher_auth: dict[str, Any],
    students_plan: list[tuple[dict[str, Any], str]],
    pipe: Connection,
) -> None:
    commands = await _commands(pipe)
    students = Students(url, students_plan)
    await students.open_all()
    teacher = Teacher(url, teacher_auth)
    await teacher.connect()
    watcher = asyncio.create_task(students.watch())
    drawer = asyncio.create_task(teacher.draw())
    pipe.send(("connected", students.connected()))
    base = (0, 0)
    while True:
        command = await commands.get()
        if command[0] == "mark":
            for student in students.records:
                student.clear()
            teacher.sent = {}
            teacher.ack_ms = []
            base = (students.disconnects, teacher.stats["disconnects"])
            stats_base = dict(teacher.stats)
            students.flags["recording"] = True
            teacher.recording = True
            pipe.send(("marked", students.connected()))
        elif command[0] == "stop":
            teacher.recording = False
            end = time.monotonic()
            await asyncio.sleep(command[1])  # let late ink arrive
            students.flags["recording"] = False
            summary = summarise(teacher.sent, students.records, end + command[1])
            teacher.ack_ms.sort()
            summary.update(
                {
                    "disconnects": students.disconnects - base[0],
                    "teacher_disconnects": teacher.stats["disconnects"] - base[1],
                    "students_connected_at_end": students.connected(),
                    "teacher_ack_p99_ms": round(percentile(teacher.ack_ms, 0.99), 2)
                    if teacher.ack_ms
                    else None,
                    "teacher_errors": teacher.stats["errors"] - stats_base["errors"],
                    "teacher_timeouts": teacher.stats["timeouts"] - stats_base["timeouts"],
                }
            )
            pipe.send(("result", summary))
        elif command[0] == "count":
            pipe.send(("count", students.connected()))
        elif command[0] == "call":
            try:
                value = await teacher.call(command[1], command[2], timeout=15)
            except Exception as exc:
                value = {"ok": False, "error": {"code": "BENCH", "message": repr(exc)}}
            pipe.send(("ack", value))
        elif command[0] == "quit":
            drawer.cancel()
            watcher.cancel()
            for task in (drawer, watcher):
                with contextlib.suppress(BaseException):
                    await task
            students.close()
            if teacher.sock is not None:
                await teacher.sock.close()
            pipe.send(("bye",))
            return
