"""Exactly once through Redis crashes: SIGKILL Redis under poll creation and reconnecting students.

A real redis-server (AOF, fsync always) under the real server app on a real socket. Each round,
while the teacher creates polls (no client id: only the server's append key protects them) and
students raise hands (with client ids) or drop and reconnect, Redis is SIGKILLed at a random
moment and restarted. Afterwards nothing acknowledged is missing, no poll is stored twice, each
student's presence was logged once per connection and once per disconnection, and the roster
shows exactly the students connected at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.keys import SERVICES
from classroom.services import Services
from classroom.settings import Settings
from classroom.storage.redis import RedisStore
from testkit.client import Api, Peer
from testkit.procs import RedisServer
from tests.conftest import start_app

pytestmark = pytest.mark.redis

SEED = 20261202
ROUNDS = 20
STUDENTS = 6
TEACHER = "outage"
PASSWORD = "outage-pass-1"


@dataclass
class Student:
    name: str
    token: str
    student_id: str
    rng: random.Random
    peer: Peer | None = None
    connects: int = 0  # connections the server accepted
    disconnects: int = 0
    hands: dict[str, int] = field(default_factory=dict)  # acked client id -> seq


@dataclass
class Lesson:
    url: str
    services: Services
    class_id: str
    redis: RedisServer
    teacher: Peer
    students: list[Student]
    polls: dict[str, int] = field(default_factory=dict)  # acked poll id -> seq
    refusals: Counter[str] = field(default_factory=Counter)


@pytest.fixture
async def lesson(tmp_path: Path) -> AsyncIterator[Lesson]:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    settings = Settings(
        host="127.0.0.1",
        port=0,
        store_url=redis.url,
        data_dir=tmp_path,
        rate_limits=False,
    )
    runner, url = await start_app(settings)
    services = runner.app[SERVICES]
    await services.store.add_teacher(TeacherRecord(TEACHER, hash_password(PASSWORD), 0))
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            token = await api.login(TEACHER, PASSWORD)
            created = await api.create_class(token)
            class_id = str(created["class_id"])
            teacher = Peer("teacher")
            await teacher.connect(url, {"token": token, "class_id": class_id})
            students = []
            for i in range(STUDENTS):
                joined = await api.join(str(created["join_code"]), f"S{i}")
                students.append(
                    Student(
                        f"S{i}",
                        joined["token"],
                        joined["student_id"],
                        random.Random(SEED + i),
                    )
                )
            room = Lesson(url, services, class_id, redis, teacher, students)
            for student in students:
                await connect(room, student)
            yield room
            for peer in [teacher, *(s.peer for s in students if s.peer is not None)]:
                with contextlib.suppress(Exception):
                    await peer.disconnect()
    finally:
        await runner.cleanup()
        redis.stop()


async def connect(room: Lesson, student: Student) -> None:
    """Connect like a tablet does: retry until the server lets the student in."""
    while True:
        peer = Peer(student.name)
        try:
            await peer.connect(room.url, {"token": student.token})
        except socketio.exceptions.ConnectionError:
            # Refused while the store is down; a tablet waits a moment and tries again.
            await asyncio.sleep(student.rng.uniform(0.02, 0.1))
            continue
        student.peer = peer
        student.connects += 1
        return


async def teacher_creates_polls(room: Lesson, stop: asyncio.Event, n: int) -> None:
    while not stop.is_set():
        payload = {"kind": "single", "question": f"Q{n}?", "options": ["a", "b"]}
        ack = await room.teacher.call("poll_create", payload, timeout=20)
        if ack["ok"]:
            room.polls[ack["poll_id"]] = ack["seq"]
        else:
            room.refusals[ack["error"]["code"]] += 1


async def student_comes_and_goes(room: Lesson, student: Student, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        peer = student.peer
        assert peer is not None
        if student.rng.random() < 0.5:
            await peer.disconnect()
            student.peer = None
            student.disconnects += 1
            await connect(room, student)
        else:
            client_id = f"{student.student_id}-{n}"
            payload = {"raised": n % 2 == 0, "client_id": client_id}
            ack = await peer.call("hand_raise", payload, timeout=20)
            if ack["ok"]:
                student.hands[client_id] = ack["seq"]
            else:
                room.refusals[ack["error"]["code"]] += 1


async def crash_redis(room: Lesson, rng: random.Random) -> None:
    """SIGKILL Redis at a random moment, keep it down a little, start it again."""
    await asyncio.sleep(rng.uniform(0.01, 0.12))  # the random moment, not synchronisation
    await asyncio.to_thread(room.redis.kill)
    await asyncio.sleep(rng.uniform(0.0, 0.25))
    await asyncio.to_thread(room.redis.start)


def logged_online(room: Lesson) -> dict[str, int]:
    runtime = room.services.hub.loaded(room.class_id)
    return {} if runtime is None else dict(runtime.state.roster.connections)


async def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_redis_sigkill_loses_and_doubles_nothing(lesson: Lesson) -> None:
    room = lesson
    rng = random.Random(SEED)
    for _ in range(ROUNDS):
        stop = asyncio.Event()
        work = [asyncio.create_task(teacher_creates_polls(room, stop, n)) for n in range(2)] + [
            asyncio.create_task(student_comes_and_goes(room, s, stop)) for s in room.students
        ]
        await crash_redis(room, rng)
        # A little traffic against the restarted Redis, then the round ends.
        await asyncio.sleep(rng.uniform(0.05, 0.2))
        stop.set()
        await asyncio.gather(*work)

    assert set(room.refusals) <= {"STORE_UNAVAILABLE"}, room.refusals
    assert len(room.polls) >= ROUNDS, "too few polls were acknowledged to test anything"

    # Presence settles to the students actually connected, once each.
    connected = {s.student_id: 1 for s in room.students if s.peer is not None}
    assert await wait_for(lambda: logged_online(room) == connected), (
        logged_online(room),
        connected,
    )
    snapshot = await room.teacher.ok("class_snapshot", {})
    online = {s["student_id"] for s in snapshot["state"]["core"]["students"] if s["online"]}
    assert online == set(connected)

    store = RedisStore(room.redis.url)
    await store.open()
    try:
        events = await store.read_after(room.class_id, 0, 1_000_000)
    finally:
        await store.close()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))

    # No acknowledged poll lost, none stored twice (acked or not).
    created = Counter(e.data["poll_id"] for e in events if e.type == "poll_created")
    assert [poll for poll, n in created.items() if n > 1] == []
    seq_of = {e.data["poll_id"]: e.seq for e in events if e.type == "poll_created"}
    assert {poll: seq_of.get(poll) for poll in room.polls} == room.polls

    for student in room.students:
        mine = [e for e in events if e.data.get("student_id") == student.student_id]
        hands = {
            (e.client_id or "").removeprefix("hand:"): e.seq
            for e in mine
            if e.type in ("hand_raised", "hand_lowered")
        }
        assert {cid: hands.get(cid) for cid in student.hands} == student.hands
        kinds = Counter(e.type for e in mine)
        # One student_connected per accepted connection, one student_disconnected per drop.
        assert (kinds["student_connected"], kinds["student_disconnected"]) == (
            student.connects,
            student.disconnects,
        ), student.name


# Longer than redis-py's retries of one command (about 5.5 s, RedisStore.open): appends fail.
LONG_OUTAGE_S = 7.0


async def test_presence_is_put_right_after_an_outage_longer_than_the_retries(
    lesson: Lesson,
) -> None:
    room = lesson
    await asyncio.to_thread(room.redis.kill)
    # Half the class drops while Redis is down: their disconnections cannot be logged now.
    leaving, staying = room.students[:3], room.students[3:]
    for student in leaving:
        assert student.peer is not None
        await student.peer.disconnect()
        student.peer = None
    # One of them comes back as soon as the server lets it (refused while Redis is down).
    back = asyncio.create_task(connect(room, leaving[0]))
    await asyncio.sleep(LONG_OUTAGE_S)  # the outage itself, not synchronisation
    await asyncio.to_thread(room.redis.start)
    await back

    connected = {s.student_id: 1 for s in [leaving[0], *staying]}
    assert await wait_for(lambda: logged_online(room) == connected), (
        logged_online(room),
        connected,
    )
