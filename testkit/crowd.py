"""A crowd of students in one class, spread over several server processes: join, connect, vote.

Shared by ``bench/votes.py`` and ``tests/classroom/test_exactly_once.py`` so the benchmark and the
test exercise exactly the same traffic.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from testkit.crowd_client import CrowdClient

T = TypeVar("T")
U = TypeVar("U")

OPTIONS = ["Mars", "Jupiter", "Saturn", "Venus"]


def progress(message: str) -> None:
    print(f"[votes] {message}", file=sys.stderr, flush=True)


async def bounded(
    items: Iterable[T], work: Callable[[T], Awaitable[U]], *, concurrency: int
) -> list[U]:
    """Run ``work`` over ``items`` with at most ``concurrency`` at once, results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: T) -> U:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def http_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


@dataclass
class Student:
    """A joined student: the server it uses and its crowd client."""

    index: int
    student_id: str
    token: str
    url: str
    client: CrowdClient


@dataclass
class Crowd:
    """A class with many students spread round-robin over ``urls``."""

    http: aiohttp.ClientSession
    urls: Sequence[str]
    class_id: str
    join_code: str
    teacher_token: str
    students: list[Student] = field(default_factory=list)

    @classmethod
    async def create_class(
        cls, http: aiohttp.ClientSession, urls: Sequence[str], teacher: str, password: str
    ) -> Crowd:
        status, body = await http_json(
            http, "POST", urls[0] + "/api/login", body={"name": teacher, "password": password}
        )
        if status != 200:
            raise RuntimeError(f"login failed: {status} {body}")
        token = body["token"]
        status, created = await http_json(
            http, "POST", urls[0] + "/api/classes", token=token, body={"title": "Votes"}
        )
        if status != 201:
            raise RuntimeError(f"class create failed: {status} {created}")
        return cls(http, urls, created["class_id"], created["join_code"], token)

    async def join(self, count: int, *, concurrency: int = 32) -> None:
        """POST /api/join ``count`` students (each through the server it will connect to)."""

        async def join_one(index: int) -> Student:
            url = self.urls[index % len(self.urls)]
            body = {"join_code": self.join_code, "name": f"Student {index:04d}"}
            status, joined = await http_json(self.http, "POST", url + "/api/join", body=body)
            if status != 201:
                raise RuntimeError(f"join {index} failed: {status} {joined}")
            client = CrowdClient(f"s{index}")
            return Student(index, joined["student_id"], joined["token"], url, client)

        started = time.perf_counter()
        self.students = await bounded(range(count), join_one, concurrency=concurrency)
        progress(f"joined {count} students in {time.perf_counter() - started:.1f} s")

    async def connect(self, *, concurrency: int = 32) -> None:
        """Open every student's socket on its server."""

        async def connect_one(student: Student) -> None:
            await student.client.connect(self.http, student.url, {"token": student.token})

        started = time.perf_counter()
        await bounded(self.students, connect_one, concurrency=concurrency)
        progress(
            f"connected {len(self.students)} students in {time.perf_counter() - started:.1f} s"
        )

    async def close(self) -> None:
        await asyncio.gather(*(student.client.close() for student in self.students))


def crowd_session() -> aiohttp.ClientSession:
    """An HTTP session that may hold a thousand websockets at once."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=False))


async def connect_teacher(crowd: Crowd, url: str) -> CrowdClient:
    teacher = CrowdClient("teacher")
    await teacher.connect(
        crowd.http, url, {"token": crowd.teacher_token, "class_id": crowd.class_id}
    )
    return teacher


async def ok(client: CrowdClient, event: str, payload: Any) -> dict[str, Any]:
    ack = await client.call(event, payload)
    if not ack.get("ok"):
        raise RuntimeError(f"{event} refused: {ack}")
    return ack


async def open_poll(crowd: Crowd, teacher: CrowdClient) -> str:
    """Create and open the single-choice poll over ``OPTIONS``; answer its id once every
    student of ``crowd`` has heard it open."""
    made = await ok(
        teacher, "poll_create", {"kind": "single", "question": "Largest?", "options": OPTIONS}
    )
    poll_id = str(made["poll_id"])
    await ok(teacher, "poll_open", {"poll_id": poll_id})
    for student in crowd.students:
        await student.client.wait_for_event("poll_opened")
    return poll_id


async def clock_offset_ms(client: CrowdClient, rounds: int = 5) -> float:
    """Server clock minus local wall clock (ms), from the clock_sync round trip with least delay."""
    best: tuple[float, float] | None = None
    for _ in range(rounds):
        sent = time.time() * 1000
        ack = await ok(client, "clock_sync", {"client_time_ms": int(sent)})
        received = time.time() * 1000
        sample = (received - sent, ack["server_time_ms"] - (sent + received) / 2)
        best = sample if best is None or sample[0] < best[0] else best
    assert best is not None
    return best[1]


@dataclass
class VoteSent:
    """One poll_vote as a student sent it and what came back."""

    student: Student
    vote_id: str
    option: int
    sent_at: float  # time.perf_counter()
    ack: dict[str, Any]
    ack_ms: float


@dataclass
class VoteBurst:
    """What a burst of votes did: every ack, and the tally the class must end with."""

    votes: list[VoteSent]
    expected_counts: list[int]
    last_sent_at: float
    retriers: int
    changers: int


def plan_of(index: int) -> str:
    """Every tenth student retries the same vote; every tenth (offset 1) changes its mind and
    then re-sends its first vote (a stale retry); the rest vote once."""
    return {0: "retry", 1: "change"}.get(index % 10, "once")


async def vote_burst(crowd: Crowd, poll_id: str, *, within_s: float = 1.0) -> VoteBurst:
    """Every student votes once, at a random moment within ``within_s`` seconds; some retry."""
    rng = random.Random(20240611)
    starts = {s.index: rng.uniform(0, within_s) for s in crowd.students}
    sent: list[VoteSent] = []
    expected = [0] * len(OPTIONS)
    last_sent = 0.0
    began = time.perf_counter()

    async def send(student: Student, vote_id: str, option: int) -> dict[str, Any]:
        nonlocal last_sent
        payload = {"poll_id": poll_id, "vote_id": vote_id, "option": option}
        at = time.perf_counter()
        last_sent = max(last_sent, at)
        ack, ms = await student.client.timed_call("poll_vote", payload)
        sent.append(VoteSent(student, vote_id, option, at, ack, ms))
        return ack

    async def one(student: Student) -> None:
        await asyncio.sleep(max(0.0, began + starts[student.index] - time.perf_counter()))
        first = student.index % len(OPTIONS)
        plan = plan_of(student.index)
        if plan == "retry":
            # The retry goes out before the first ack comes back, as after a lost ack.
            await asyncio.gather(send(student, "v1", first), send(student, "v1", first))
            expected[first] += 1
        elif plan == "change":
            second = (first + 1) % len(OPTIONS)
            await send(student, "v1", first)
            await send(student, "v2", second)
            await send(student, "v1", first)  # a stale retry of the replaced vote
            expected[second] += 1
        else:
            await send(student, "v1", first)
            expected[first] += 1

    await asyncio.gather(*(one(student) for student in crowd.students))
    plans = [plan_of(s.index) for s in crowd.students]
    return VoteBurst(sent, expected, last_sent, plans.count("retry"), plans.count("change"))


@dataclass
class AnswerSent:
    """One quiz_answer: when it left and its ack came back (server clock, ms) and the ack."""

    student: Student
    sent_server_ms: float
    acked_server_ms: float
    ack: dict[str, Any]


async def answer_burst(
    crowd: Crowd, quiz_id: str, deadline_ms: int, offset_ms: float, *, before_ms: int, after_ms: int
) -> list[AnswerSent]:
    """Every student answers question 0 once, at a random server time in
    ``[deadline - before_ms, deadline + after_ms]``."""
    rng = random.Random(7)
    results: list[AnswerSent] = []

    def server_now() -> float:
        return time.time() * 1000 + offset_ms

    async def one(student: Student) -> None:
        at = deadline_ms + rng.uniform(-before_ms, after_ms)
        await asyncio.sleep(max(0.0, (at - server_now()) / 1000))
        payload = {"quiz_id": quiz_id, "question": 0, "answer_id": "a1", "option": 1}
        sent = server_now()
        ack = await student.client.call("quiz_answer", payload)
        results.append(AnswerSent(student, sent, server_now(), ack))

    await asyncio.gather(*(one(student) for student in crowd.students))
    return results


async def whole_log(client: CrowdClient) -> list[dict[str, Any]]:
    """The class log as ``client`` may read it, paged through ``log_resume``."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await ok(client, "log_resume", {"after_seq": after, "limit": 1000})
        events += page["events"]
        after = page["next_after_seq"]
        if not page["more"]:
            return events
