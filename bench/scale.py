"""Scale-out: 3 server processes over a 3-master Redis Cluster against the same 3 over one Redis.

Each side is a fresh store and three ``classroom serve`` child processes on it:

* ``single``: one redis-server (``testkit.procs.RedisServer``: AOF, fsync on every write);
* ``cluster``: 3 masters + 3 replicas (``testkit.procs.RedisCluster``, AOF on), the servers on
  ``--store redis+cluster://...`` (sharded pub/sub, ``WAIT 1`` after each append).

On each, the same lesson: ``--classes`` classes of ``--students`` students. Class k's teacher is
on process k mod 3 and its student j on process (k + j) mod 3 (sticky per student), so every
class has clients on every process, as behind ``ip_hash`` in a school. Clients are the
cheapest the repo has, in their own processes:

* teachers: ``bench/fanout.py``'s drawing teachers (raw Socket.IO, one process per server),
  a batch every ``--batch-ms`` (400 ms: a lighter pen than the browser's 33 ms; 60 classes at the
  browser's rate would be 54,000 deliveries/s, far past what 2 cores carry);
* students: ``bench/_receiver.py`` receivers (the websocket by hand in an ``asyncio.Protocol``)
  that also note the seq of every log event they receive and send one ``poll_vote``;
  ``--client-procs`` processes;
* one control teacher per class in this process (``testkit.crowd_client``): opens the poll of
  the vote burst and reads the class log back at the end.

Timeline: connect everyone, draw ``--warmup`` s, then ``--seconds`` s measured; half-way every
class opens a poll and every student votes at a random moment within ``--within`` s. Then the
teachers stop, the logs are read back and the students drain to the log's head.

Measured per side: ``deliveries_per_s`` (log events students received in the window),
``ink_p99_ms`` (teacher's batch sent -> a student's socket received it), ``vote_ack_p99_ms``,
``lost`` / ``duplicates`` (acked ink/votes missing from or doubled in the log, and events a
student should have received, by seq, that it missed or got twice), CPU per Redis node
(``INFO cpu``), per server process and for the clients, and the cost per appended event in
microseconds of Redis CPU (the figure docs/operations.md models clusters with).

Progress goes to stderr; the last stdout line is one JSON object.
Run: ``flock /work/bench.lock .venv/bin/python bench/scale.py [--classes 60 --students 30
--seconds 30]``; quick: ``--classes 6 --students 10 --seconds 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
import psutil
import redis
from _common import gather_limited, log, percentile
from _receiver import Receiver, Record, open_receiver
from fanout import Pen, _busy, _commands, _expect, teacher_process

from testkit.client import with_client_id
from testkit.crowd import OPTIONS, bounded, crowd_session, http_json, ok, whole_log
from testkit.crowd_client import CrowdClient
from testkit.procs import RedisCluster, RedisServer, ServerProcess, add_teacher

TEACHER = "bench"
PASSWORD = "bench-scale-pass"
PROCESSES = 3
# The seq of a log event on the wire: 42["type",{"seq":N,...  (full and lean forms alike).
SEQ = re.compile(rb'42\["[a-z_]+",\{"seq": ?(\d+)')


# --- students (own processes) -----------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """One student as the bench places it: its class, its server and its join."""

    klass: int
    url: str
    token: str
    student_id: str


class Student(Receiver):
    """A receiver that also keeps the seq of every log event and can send one vote."""

    def __init__(self, auth: dict[str, Any], records: list[Record], flags: dict[str, bool]) -> None:
        super().__init__(auth, records, flags)
        self.seqs: list[int] = []
        self.delivered = 0  # log events received while recording
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0

    def _message(self, message: bytes, now: float) -> None:
        found = SEQ.match(message)
        if found:
            self.seqs.append(int(found.group(1)))
            if self.flags["recording"]:
                self.delivered += 1
        elif message.startswith(b"43"):
            bracket = message.index(b"[")
            fut = self.acks.pop(int(message[2:bracket]), None)
            if fut is not None and not fut.done():
                fut.set_result(json.loads(message[bracket:])[0])
            return
        super()._message(message, now)

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[self._next_id] = fut
        body = json.dumps([event, with_client_id(event, payload)], separators=(",", ":"))
        self._send_text(f"42{self._next_id}{body}".encode())
        return dict(await asyncio.wait_for(fut, 60))


def student_process(seats: list[Seat], pipe: Connection) -> None:
    asyncio.run(_students(seats, pipe))


async def _students(seats: list[Seat], pipe: Connection) -> None:
    commands = await _commands(pipe)
    records: list[Record] = []
    flags = {"recording": False}
    opened = [
        open_receiver(seat.url, {"token": seat.token}, records, flags, kind=Student)
        for seat in seats
    ]
    students: list[Student] = await gather_limited(opened, 16)  # type: ignore[arg-type]
    pipe.send(("connected", len(students)))
    votes: list[tuple[int, str, float, dict[str, Any]]] = []  # class, student id, ms, ack

    async def vote(seat: Seat, student: Student, poll_id: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        payload = {
            "poll_id": poll_id,
            "vote_id": f"v-{seat.student_id}",
            "option": seat.klass % len(OPTIONS),
        }
        sent = time.monotonic()
        ack = await student.call("poll_vote", payload)
        votes.append((seat.klass, seat.student_id, (time.monotonic() - sent) * 1000, ack))

    while True:
        command, *args = await commands.get()
        if command == "mark":
            flags["recording"] = True
        elif command == "vote":
            polls, within = args
            rng = random.Random(len(seats))
            start = time.monotonic()
            await asyncio.gather(
                *(
                    vote(seat, student, polls[seat.klass], start + rng.uniform(0, within))
                    for seat, student in zip(seats, students, strict=True)
                )
            )
            pipe.send(("voted", votes))
        elif command == "stop":
            flags["recording"] = False
            pipe.send(("stopped", sum(s.delivered for s in students)))
        elif command == "drain":
            # Wait until each student saw its class's last event for everyone (or 30 s).
            (heads,) = args
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(
                max(s.seqs, default=0) < heads[seat.klass]
                for seat, s in zip(seats, students, strict=True)
            ):
                await asyncio.sleep(0.05)
            pairs = zip(seats, students, strict=True)
            seen = [(seat.klass, seat.student_id, s.seqs) for seat, s in pairs]
            pipe.send(("drained", records, seen, sum(1 for s in students if s.closed)))
        elif command == "quit":
            for student in students:
                if student.transport is not None:
                    student.transport.close()
            pipe.send(("bye",))
            return


# --- stores -----------------------------------------------------------------------------------


@dataclass
class Store:
    """A store under test: the URL the servers get and its Redis nodes (name -> port)."""

    url: str
    nodes: dict[str, int]


@contextlib.contextmanager
def single_redis(data_dir: Path) -> Iterator[Store]:
    server = RedisServer(data_dir / "redis")
    server.start()
    try:
        yield Store(server.url, {"redis": server.port})
    finally:
        server.stop()


@contextlib.contextmanager
def redis_cluster(data_dir: Path) -> Iterator[Store]:
    """3 masters + 3 replicas (``testkit.procs.RedisCluster``)."""
    cluster = RedisCluster(data_dir / "cluster")
    cluster.start()
    try:
        yield Store(cluster.url, {f"node-{port}": port for port in cluster.ports})
    finally:
        cluster.stop()


def redis_cpu(nodes: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Each node's CPU seconds so far (``INFO cpu``: used_cpu_sys + used_cpu_user), its role
    and its command counters (``INFO commandstats``: calls and microseconds per command)."""
    found: dict[str, dict[str, Any]] = {}
    for name, port in nodes.items():
        client = redis.Redis(port=port)
        try:
            cpu = client.info("cpu")
            role = client.info("replication")["role"]
            commands = client.info("commandstats")
        finally:
            client.close()
        found[name] = {
            "cpu_s": cpu["used_cpu_sys"] + cpu["used_cpu_user"],
            "role": role,
            "commands": {
                key.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
                for key, v in commands.items()
            },
        }
    return found


def log_memory(nodes: dict[str, int]) -> tuple[int, int]:
    """Bytes the class logs take on the masters (``MEMORY USAGE``) and the events in them;
    a replica holds a copy of its master's."""
    size = events = 0
    for port in nodes.values():
        client = redis.Redis(port=port)
        try:
            if client.info("replication")["role"] != "master":
                continue
            for key in client.scan_iter(match="tk:*:log", count=1000):
                size += int(client.memory_usage(key, samples=0) or 0)
                events += int(client.llen(key))  # type: ignore[arg-type]
        finally:
            client.close()
    return size, events


def command_time(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], wall: float
) -> dict[str, dict[str, float]]:
    """Calls/s and CPU share (cores) of each Redis command over the window, all nodes summed,
    the costliest first: what Redis spends its time on (fsync and networking not included)."""
    calls: Counter[str] = Counter()
    usec: Counter[str] = Counter()
    for node, stats in after.items():
        for command, (n, us) in stats["commands"].items():
            n0, us0 = before[node]["commands"].get(command, (0, 0))
            calls[command] += n - n0
            usec[command] += us - us0
    return {
        command: {
            "per_s": round(calls[command] / wall, 1),
            "cores": round(us / wall / 1e6, 4),
            "us_per_call": round(us / max(1, calls[command]), 1),
        }
        for command, us in usec.most_common(6)
        if us > 0
    }


# --- one side ---------------------------------------------------------------------------------


@dataclass
class Lesson:
    """The classes of one side: control teachers and where every student sits."""

    teachers: list[CrowdClient] = field(default_factory=list)
    teacher_auths: list[dict[str, Any]] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)


async def set_up(http: Any, urls: list[str], classes: int, students: int) -> Lesson:
    """Classes over HTTP, students joined through the server they will connect to."""
    status, body = await http_json(
        http, "POST", urls[0] + "/api/login", body={"name": TEACHER, "password": PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"login failed: {status} {body}")
    token = body["token"]
    lesson = Lesson()
    for k in range(classes):
        status, made = await http_json(
            http, "POST", urls[k % PROCESSES] + "/api/classes", token=token, body={"title": f"{k}"}
        )
        if status != 201:
            raise RuntimeError(f"class create failed: {status} {made}")
        lesson.teacher_auths.append({"token": token, "class_id": made["class_id"]})

        async def join(j: int, k: int = k, code: str = made["join_code"]) -> Seat:
            url = urls[(k + j) % PROCESSES]
            status, joined = await http_json(
                http, "POST", url + "/api/join", body={"join_code": code, "name": f"S {k}.{j}"}
            )
            if status != 201:
                raise RuntimeError(f"join failed: {status} {joined}")
            return Seat(k, url, joined["token"], joined["student_id"])

        lesson.seats += await bounded(range(students), join, concurrency=16)
    return lesson


def check_logs(
    logs: list[list[dict[str, Any]]],
    starts: list[int],
    ink_acked: list[tuple[str, int]],
    votes: list[tuple[int, str, float, dict[str, Any]]],
    seen: list[tuple[int, str, list[int]]],
) -> dict[str, Any]:
    """Lost and doubled: acked writes against the logs, and each student's seqs against what
    the log says it should have received after ``starts[class]``."""
    ink_keys: Counter[tuple[str, int]] = Counter()
    vote_keys: Counter[tuple[int, str, str]] = Counter()
    for k, events in enumerate(logs):
        for event in events:
            data = event["data"]
            if event["type"] == "stroke_started":
                ink_keys[(data["id"], 0)] += 1
            elif event["type"] == "stroke_extended":
                ink_keys[(data["id"], data["offset"])] += 1
            elif event["type"] == "stroke_ended":
                ink_keys[(data["id"], -1)] += 1
            elif event["type"] == "poll_voted":
                vote_keys[(k, event["by"]["id"], data["vote_id"])] += 1
    acked_votes = [(k, sid) for k, sid, _, ack in votes if ack.get("ok")]
    lost_writes = sum(1 for key in ink_acked if ink_keys[key] == 0)
    lost_writes += sum(1 for k, sid in acked_votes if vote_keys[(k, sid, f"v-{sid}")] == 0)
    doubled_writes = sum(n - 1 for n in ink_keys.values() if n > 1)
    doubled_writes += sum(n - 1 for n in vote_keys.values() if n > 1)
    lost_deliveries = 0
    doubled_deliveries = 0
    for k, student_id, seqs in seen:
        expected = {
            e["seq"]
            for e in logs[k]
            if e["seq"] > starts[k]
            and (e.get("aud", "all") == "all" or e["by"]["id"] == student_id)
        }
        got = Counter(s for s in seqs if s > starts[k])
        lost_deliveries += len(expected - set(got))
        doubled_deliveries += sum(n - 1 for n in got.values() if n > 1)
    return {
        "lost": lost_writes + lost_deliveries,
        "duplicates": doubled_writes + doubled_deliveries,
        "lost_acked_writes": lost_writes,
        "doubled_in_log": doubled_writes,
        "missed_deliveries": lost_deliveries,
        "doubled_deliveries": doubled_deliveries,
        "acked_ink": len(ink_acked),
        "acked_votes": len(acked_votes),
    }


def side(name: str, store: Store, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Three servers on ``store``, the lesson, the measurements."""
    add_teacher(store.url, workdir, TEACHER, PASSWORD)
    servers = [ServerProcess(store.url, workdir / f"server-{n}") for n in range(PROCESSES)]
    ctx = mp.get_context("spawn")
    procs: list[Any] = []
    try:
        for server in servers:
            server.start(timeout=60)
        urls = [s.url for s in servers]
        log(f"{name}: servers {[s.pid for s in servers]} on {store.url}")
        return asyncio.run(_side(name, store, urls, servers, ctx, procs, args))
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
        for server in servers:
            server.stop()


async def _side(
    name: str,
    store: Store,
    urls: list[str],
    servers: list[ServerProcess],
    ctx: Any,
    procs: list[Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    async with crowd_session() as http:
        lesson = await set_up(http, urls, args.classes, args.students)
        log(f"{name}: {args.classes} classes, {len(lesson.seats)} students joined")
        for k, auth in enumerate(lesson.teacher_auths):
            teacher = CrowdClient(f"t{k}")
            await teacher.connect(http, urls[k % PROCESSES], auth)
            lesson.teachers.append(teacher)
        pipes: list[Connection] = []
        for n in range(args.client_procs):
            mine, theirs = ctx.Pipe()
            p = ctx.Process(
                target=student_process, args=(lesson.seats[n :: args.client_procs], theirs)
            )
            p.start()
            procs.append(p)
            pipes.append(mine)
        teacher_pipes: list[Connection] = []
        pen = Pen(point_s=args.point_ms / 1000, batch_s=args.batch_ms / 1000, window=4)
        for n in range(PROCESSES):
            mine, theirs = ctx.Pipe()
            auths = lesson.teacher_auths[n::PROCESSES]
            p = ctx.Process(target=teacher_process, args=(urls[n], auths, pen, theirs, f"p{n}c"))
            p.start()
            procs.append(p)
            teacher_pipes.append(mine)

        async def expect(pipe: Connection, tag: str) -> tuple[Any, ...]:
            return await loop.run_in_executor(None, _expect, pipe, tag)

        connected = sum([(await expect(p, "connected"))[1] for p in pipes])
        for pipe in teacher_pipes:
            await expect(pipe, "connected")
        log(f"{name}: {connected} students and {args.classes} x 2 teacher sockets connected")
        starts = [(await ok(t, "class_snapshot", {}))["seq"] for t in lesson.teachers]
        for pipe in teacher_pipes:
            pipe.send("go")
        await asyncio.sleep(args.warmup)

        server_procs = [psutil.Process(s.pid) for s in servers]
        client_procs = [psutil.Process(p.pid) for p in procs] + [psutil.Process()]
        redis_before = redis_cpu(store.nodes)
        servers_before = [_busy(p.cpu_times()) for p in server_procs]
        clients_before = sum(_busy(p.cpu_times()) for p in client_procs)
        machine_before = _busy(psutil.cpu_times())
        wall_ms_start = time.time() * 1000
        started = time.monotonic()
        for pipe in [*pipes, *teacher_pipes]:
            pipe.send(("mark",) if pipe in pipes else "mark")

        await asyncio.sleep(max(0.0, args.seconds / 2 - args.within / 2))

        async def open_poll(teacher: CrowdClient) -> str:
            made = await ok(
                teacher, "poll_create", {"kind": "single", "question": "?", "options": OPTIONS}
            )
            await ok(teacher, "poll_open", {"poll_id": made["poll_id"]})
            return str(made["poll_id"])

        polls = dict(enumerate(await asyncio.gather(*map(open_poll, lesson.teachers))))
        log(f"{name}: vote burst, {len(lesson.seats)} students within {args.within} s")
        burst_began = time.monotonic()
        for pipe in pipes:
            pipe.send(("vote", polls, args.within))
        votes = [v for pipe in pipes for v in (await expect(pipe, "voted"))[1]]
        burst_ended = time.monotonic()
        await asyncio.sleep(max(0.0, started + args.seconds - time.monotonic()))

        for pipe in pipes:
            pipe.send(("stop",))
        delivered = sum([(await expect(p, "stopped"))[1] for p in pipes])
        wall = time.monotonic() - started
        wall_ms_end = time.time() * 1000
        redis_after = redis_cpu(store.nodes)
        servers_cpu = [
            (_busy(p.cpu_times()) - before) / wall
            for p, before in zip(server_procs, servers_before, strict=True)
        ]
        clients_cpu = (sum(_busy(p.cpu_times()) for p in client_procs) - clients_before) / wall
        machine_cpu = (_busy(psutil.cpu_times()) - machine_before) / wall
        batches: dict[tuple[str, int], tuple[float, list[float]]] = {}
        ink_acked: list[tuple[str, int]] = []
        teacher_stats: list[dict[str, Any]] = []
        for pipe in teacher_pipes:
            pipe.send("stop")
        for pipe in teacher_pipes:
            _, sent, stats = await expect(pipe, "result")
            batches.update(sent)
            ink_acked += stats.pop("acked")
            teacher_stats.append(stats)
        for pipe in teacher_pipes:
            pipe.send("quit")
            await expect(pipe, "bye")
        # The teachers' sockets are closed: whatever they sent is in the log or never will be.
        logs = await bounded(lesson.teachers, whole_log, concurrency=8)
        heads = {
            k: max((e["seq"] for e in events if e.get("aud", "all") == "all"), default=0)
            for k, events in enumerate(logs)
        }
        for pipe in pipes:
            pipe.send(("drain", heads))
        drained = [await expect(pipe, "drained") for pipe in pipes]
        for pipe in pipes:
            pipe.send(("quit",))
            await expect(pipe, "bye")
        for teacher in lesson.teachers:
            await teacher.close()

    records = [r for _, rs, _, _ in drained for r in rs]
    seen = [s for _, _, ss, _ in drained for s in ss]
    ink_ms = sorted(
        (arrived - batches[(sid, off)][0]) * 1000
        for sid, off, arrived in records
        if (sid, off) in batches
    )
    # Ink sent outside the vote burst: the lesson's steady state.
    quiet_ms = sorted(
        (arrived - batches[(sid, off)][0]) * 1000
        for sid, off, arrived in records
        if (sid, off) in batches and not burst_began <= batches[(sid, off)][0] <= burst_ended
    )
    vote_ms = sorted(ms for _, _, ms, ack in votes if ack.get("ok"))
    appended = sum(1 for events in logs for e in events if wall_ms_start <= e["ts"] <= wall_ms_end)
    redis_nodes = {
        node: {
            "role": redis_after[node]["role"],
            "cpu": round((redis_after[node]["cpu_s"] - redis_before[node]["cpu_s"]) / wall, 3),
        }
        for node in store.nodes
    }
    redis_total = sum(n["cpu"] for n in redis_nodes.values())
    log_bytes, log_events = log_memory(store.nodes)
    server_total = sum(servers_cpu)
    deliveries_per_s = delivered / wall
    errors = Counter(
        ack.get("error", {}).get("code") for _, _, _, ack in votes if not ack.get("ok")
    )
    result = {
        "store": store.url.split("://", 1)[0],
        "deliveries_per_s": round(deliveries_per_s, 1),
        "ink_p50_ms": round(percentile(ink_ms, 0.5), 2),
        "ink_p99_ms": round(percentile(ink_ms, 0.99), 2),
        "ink_p99_outside_burst_ms": round(percentile(quiet_ms, 0.99), 2),
        "vote_burst_s": round(burst_ended - burst_began, 2),
        "vote_ack_p50_ms": round(percentile(vote_ms, 0.5), 2),
        "vote_ack_p99_ms": round(percentile(vote_ms, 0.99), 2),
        **check_logs(logs, starts, ink_acked, votes, seen),
        "vote_errors": dict(errors),
        "ink_errors": sum(s["errors"] for s in teacher_stats),
        "appended_per_s": round(appended / wall, 1),
        "redis_cpu": redis_nodes,
        # Where the time goes, in cores busy over the window (2 on this machine).
        "cpu": {
            "redis": round(redis_total, 3),
            "servers": [round(c, 3) for c in servers_cpu],
            "clients": round(clients_cpu, 3),
            "other": round(max(0.0, machine_cpu - redis_total - server_total - clients_cpu), 3),
        },
        "redis_us_per_event": round(redis_total * 1e6 / max(1.0, appended / wall), 1),
        "redis_log_bytes_per_event": round(log_bytes / max(1, log_events)),
        "redis_commands": command_time(redis_before, redis_after, wall),
        "servers_us_per_delivery": round(server_total * 1e6 / max(1.0, deliveries_per_s), 1),
        "closed_students": sum(c for *_, c in drained),
        "seconds": round(wall, 1),
    }
    log(f"{name}: {json.dumps(result)}")
    return result


# --- the Redis side alone ----------------------------------------------------------------------


def _body(size: int) -> str:
    """A logged ink batch's record without seq and ts, about ``size`` bytes."""
    pts = ",".join(["512.3,384.1,0.52,120"] * max(1, (size - 120) // 21))
    by = '"by":{"role":"teacher","id":"t_bench","name":"bench"}'
    return f'"type":"stroke_extended",{by},"data":{{"id":"s1","offset":0,"pts":[{pts}]}}}}'


async def redis_alone(
    store: Store, *, cluster: bool, classes: int, rate: float, seconds: float, size: int
) -> dict[str, Any]:
    """The store's append script at ``rate`` events/s per class for ``seconds``, on each class's
    master, followed by ``WAIT 1`` on a cluster, with 3 subscribers per node standing in for the
    3 server processes (sharded pub/sub on a cluster: ``SSUBSCRIBE`` on the slot's master).

    No server process and no client: what one appended event costs Redis, and what replication
    and ``WAIT 1`` add to an append's latency.
    """
    import redis.asyncio as aioredis

    from classroom.storage.redis import APPEND_SCRIPT

    script = APPEND_SCRIPT.replace("'PUBLISH'", "'SPUBLISH'") if cluster else APPEND_SCRIPT
    roles = redis_cpu(store.nodes)
    masters = [store.nodes[n] for n, v in roles.items() if v["role"] == "master"]
    any_node = aioredis.Redis(port=masters[0])
    owner: dict[int, int] = {}  # class -> master port
    if cluster:
        for start, end, (_, port, *_), *_ in await any_node.execute_command("CLUSTER", "SLOTS"):
            for k in range(classes):
                slot = await any_node.execute_command("CLUSTER", "KEYSLOT", f"tk:{{c{k}}}:log")
                if start <= slot <= end:
                    owner[k] = int(port)
    else:
        owner = dict.fromkeys(range(classes), masters[0])
    await any_node.aclose()
    body = _body(size)
    received = [0]
    subscribers: list[Any] = []
    readers: list[asyncio.Task[None]] = []

    async def read(pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] in ("message", "smessage"):
                received[0] += 1

    for port in masters:
        channels = [f"tk:{{c{k}}}:feed" for k in range(classes) if owner[k] == port]
        for _ in range(PROCESSES):
            pubsub = aioredis.Redis(port=port).pubsub(ignore_subscribe_messages=True)
            if channels:
                await (pubsub.ssubscribe if cluster else pubsub.subscribe)(*channels)
            subscribers.append(pubsub)
            readers.append(asyncio.create_task(read(pubsub)))
    latencies: list[float] = []
    appended = [0]

    async def append(k: int) -> None:
        connection = aioredis.Redis(port=owner[k], single_connection_client=True)
        sha = await connection.script_load(script)
        keys = [f"tk:{{c{k}}}:{what}" for what in ("log", "ids", "akeys:1", "akeys:0")]
        due = time.monotonic() + random.Random(k).uniform(0, 1 / rate)
        n = 0
        try:
            while time.monotonic() < stop_at:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                due += 1 / rate
                n += 1
                now_ms = int(time.time() * 1000)
                sent = time.monotonic()
                await connection.evalsha(
                    sha, 4, *keys, keys[0].replace("log", "feed"), now_ms, now_ms + 1_200_000,
                    "a", f"k{n}", body,
                )  # fmt: skip
                if cluster:  # the cluster store's rule: a replica has it before the ack
                    await connection.execute_command("WAIT", 1, 1000)
                latencies.append((time.monotonic() - sent) * 1000)
                appended[0] += 1
        finally:
            await connection.aclose()

    before = redis_cpu(store.nodes)
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(*(append(k) for k in range(classes)))
    wall = time.monotonic() - started
    after = redis_cpu(store.nodes)
    expected = appended[0] * PROCESSES
    deadline = time.monotonic() + 10
    while received[0] < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for pubsub in subscribers:
        await pubsub.aclose()
    cpu = {n: round((after[n]["cpu_s"] - before[n]["cpu_s"]) / wall, 3) for n in store.nodes}
    rate_total = appended[0] / wall
    on_masters = sum(c for n, c in cpu.items() if after[n]["role"] == "master")
    latencies.sort()
    return {
        "appends_per_s": round(rate_total, 1),
        "append_p50_ms": round(percentile(latencies, 0.5), 2),
        "append_p99_ms": round(percentile(latencies, 0.99), 2),
        "redis_cpu": {n: {"role": after[n]["role"], "cpu": c} for n, c in cpu.items()},
        "redis_us_per_event": round(sum(cpu.values()) * 1e6 / max(1.0, rate_total), 1),
        "masters_us_per_event": round(on_masters * 1e6 / max(1.0, rate_total), 1),
        "subscriber_messages_missing": max(0, expected - received[0]),
        "redis_commands": command_time(before, after, wall),
    }


RATIO_KEYS = ("deliveries_per_s", "ink_p99_ms", "vote_ack_p99_ms", "redis_us_per_event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=60)
    parser.add_argument("--students", type=int, default=30, help="students per class")
    parser.add_argument("--seconds", type=float, default=30, help="measured time per side")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--within", type=float, default=2.0, help="seconds the vote burst spans")
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=400,
        help="a teacher sends a batch every (at 200 ms, 60 x 30 saturated both cores here)",
    )
    parser.add_argument("--point-ms", type=float, default=16, help="the pen gives a point every")
    parser.add_argument("--client-procs", type=int, default=3, help="student processes")
    parser.add_argument(
        "--only",
        choices=["single", "cluster", "redis"],
        help="one side (and its Redis-alone run), or only the Redis-alone runs",
    )
    args = parser.parse_args()
    result: dict[str, Any] = {
        "classes": args.classes,
        "students_per_class": args.students,
        "processes": PROCESSES,
        "batch_every_ms": args.batch_ms,
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    kinds = {"single": single_redis, "cluster": redis_cluster}
    alone: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="takhti-scale-") as tmp:
        for name, store_of in kinds.items():
            workdir = Path(tmp) / name
            workdir.mkdir()
            with store_of(workdir) as store:
                if args.only in (None, name):
                    try:
                        result[name] = side(name, store, args, workdir)
                    except RuntimeError as failed:  # a server that would not start on it
                        logs = sorted(workdir.glob("server-*/server-*.log"))
                        last = logs[0].read_text().strip().splitlines()[-1:] if logs else []
                        result[name] = {"not_run": f"{failed}: {' '.join(last)}"}
                        log(f"{name}: not run: {result[name]['not_run']}")
                if args.only in (None, name, "redis"):
                    measured = result.get("single", {})
                    rate = measured.get("appended_per_s", 4.0 * args.classes) / args.classes
                    log(f"{name}: Redis alone, {rate:.1f} appends/s per class")
                    alone[name] = asyncio.run(
                        redis_alone(
                            store,
                            cluster=name == "cluster",
                            classes=args.classes,
                            rate=rate,
                            seconds=args.seconds,
                            size=measured.get("redis_log_bytes_per_event", 460),
                        )
                    )
                    log(f"{name}: Redis alone: {json.dumps(alone[name])}")
    result["redis_alone"] = alone
    if "single" in alone and "cluster" in alone:
        alone["ratio_cluster_over_single"] = {
            key: round(alone["cluster"][key] / alone["single"][key], 3)
            if alone["single"][key]
            else None
            for key in ("append_p50_ms", "append_p99_ms", "redis_us_per_event")
        }
    if "deliveries_per_s" in result.get("single", {}) and "deliveries_per_s" in result.get(
        "cluster", {}
    ):
        result["ratio_cluster_over_single"] = {
            key: round(result["cluster"][key] / result["single"][key], 3)
            if result["single"][key]
            else None
            for key in RATIO_KEYS
        }
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
