"""Live board fan-out: K classes of N students, each teacher drawing continuously.

Against a real ``classroom serve`` subprocess (SQLite store) and, on the same workload with the
same receivers, a bare python-socketio relay (``bench/relay.py``) as the baseline.

* Teachers (one process, raw Socket.IO clients) draw at 30 batches/s per class: ``stroke_start``,
  ``stroke_extend`` batches of 2-4 new points per tick, ``stroke_end`` every 1-2 s; one message in
  flight per stroke, like the web client (points drawn meanwhile ride in the next batch). Each
  send time is recorded per (stroke id, offset).
* Receivers (``--receiver-procs`` processes of ``bench/_receiver.py`` clients: the websocket
  protocol by hand in an ``asyncio.Protocol``, so they cost little CPU; deflate offered like a
  browser does) record the arrival time of every ink message per (stroke id, offset) and count the
  bytes that arrive off the wire. Latency = arrival - send (same machine, CLOCK_MONOTONIC).
* Idle memory: server RSS with every student connected and nothing drawn, minus RSS before.

Progress goes to stderr; the last stdout line is one JSON object.
Run: ``.venv/bin/python bench/fanout.py [--classes 20 --students 30 --seconds 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
import aiohttp
import psutil
from _common import RawSocket, gather_limited, log, percentile, serve_argv
from _receiver import Receiver, Record, open_receiver

from testkit.procs import ROOT, CommandServer, free_port

TICK_S = 1 / 30
PASSWORD = "bench-password-1"


# --- receivers (own processes) ----------------------------------------------------------------


def receiver_process(
    url: str, auths: list[dict[str, Any]], deflate: bool, pipe: Connection
) -> None:
    asyncio.run(_receivers(url, auths, deflate, pipe))


async def _commands(pipe: Connection) -> asyncio.Queue[Any]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    asyncio.get_running_loop().add_reader(pipe.fileno(), lambda: queue.put_nowait(pipe.recv()))
    return queue


async def _receivers(
    url: str, auths: list[dict[str, Any]], deflate: bool, pipe: Connection
) -> None:
    commands = await _commands(pipe)
    records: list[Record] = []
    flags = {"recording": False}
    receivers: list[Receiver] = await gather_limited(
        [open_receiver(url, auth, records, flags, deflate=deflate) for auth in auths], 16
    )
    pipe.send(("connected", len(receivers)))
    started_at = 0.0
    bytes_at_mark = 0
    while True:
        command = await commands.get()
        if command == "mark":
            bytes_at_mark = sum(r.wire_bytes for r in receivers)
            started_at = time.monotonic()
            flags["recording"] = True
        elif command == "stop":
            flags["recording"] = False
            received = sum(r.wire_bytes for r in receivers) - bytes_at_mark
            closed = sum(1 for r in receivers if r.closed)
            pipe.send(("result", records, received, time.monotonic() - started_at, closed))
        elif command == "quit":
            for receiver in receivers:
                if receiver.transport is not None:
                    receiver.transport.close()
            pipe.send(("bye",))
            return


# --- teachers (own process) -------------------------------------------------------------------


def teacher_process(url: str, auths: list[dict[str, Any]], pipe: Connection) -> None:
    asyncio.run(_teachers(url, auths, pipe))


class Stroke:
    def __init__(self, stroke_id: str, rng: random.Random) -> None:
        self.id = stroke_id
        self.points: list[list[float]] = []
        self.acked = 0
        self.started = False
        self.finished = False
        self.ticks_left = rng.randint(30, 60)  # 1-2 s of drawing at 30 batches/s
        self.t0 = time.monotonic()
        self.x = rng.uniform(200, 1700)
        self.y = rng.uniform(150, 900)


async def _teachers(url: str, auths: list[dict[str, Any]], pipe: Connection) -> None:
    commands = await _commands(pipe)
    sockets: list[RawSocket] = await gather_limited([RawSocket.open(url, a) for a in auths], 16)
    pipe.send(("connected", len(sockets)))
    sent: dict[tuple[str, int], float] = {}
    stats = {"messages": 0, "busy_ticks": 0, "errors": 0, "gaps": 0, "strokes": 0}
    ack_ms: list[float] = []

    async def read(sock: RawSocket) -> None:
        try:
            async for message in sock.ws:
                if message == "2":
                    await sock.ws.send("3")
                elif isinstance(message, str) and message.startswith("43"):
                    sock.handle_ack(message)
        except Exception:
            return

    async def draw(sock: RawSocket, k: int) -> None:
        rng = random.Random(k)
        await asyncio.sleep(k * TICK_S / max(1, len(sockets)))  # spread the classes' ticks
        next_tick = time.monotonic()
        stroke: Stroke | None = None
        serial = 0
        inflight: asyncio.Future[Any] | None = None
        message: tuple[str, int, int] = ("", 0, 0)  # kind, offset, points sent
        sent_at = 0.0
        while True:
            next_tick += TICK_S
            if stroke is None:
                serial += 1
                stroke = Stroke(f"c{k}-{serial}", rng)
            if not stroke.finished:
                for _ in range(rng.randint(2, 4)):
                    stroke.x = min(1900.0, max(20.0, stroke.x + rng.uniform(-6, 6)))
                    stroke.y = min(1060.0, max(20.0, stroke.y + rng.uniform(-6, 6)))
                    t = round((time.monotonic() - stroke.t0) * 1000)
                    stroke.points.append(
                        [round(stroke.x, 1), round(stroke.y, 1), round(rng.uniform(0.3, 0.8), 3), t]
                    )
                stroke.ticks_left -= 1
                stroke.finished = stroke.ticks_left <= 0
            if inflight is not None and inflight.done():
                ack = inflight.result()
                inflight = None
                kind, offset, count = message
                if not ack.get("ok"):
                    error = ack.get("error", {})
                    if error.get("code") == "GAP":
                        stats["gaps"] += 1
                        stroke.started = True
                        stroke.acked = int(error["expected_offset"])
                    else:
                        stats["errors"] += 1
                        stroke = None
                elif kind == "end":
                    stats["strokes"] += 1
                    stroke = None
                else:
                    stroke.started = True
                    stroke.acked = max(stroke.acked, offset + count)
            if inflight is None and stroke is not None:
                batch = stroke.points[stroke.acked : stroke.acked + 64]
                if not stroke.started:
                    payload: dict[str, Any] = {
                        "stroke_id": stroke.id,
                        "page_id": "page-1",
                        "tool": "pen",
                        "color": "#1a1a1a",
                        "width": 4,
                        "points": batch,
                    }
                    message = ("start", 0, len(batch))
                    event = "stroke_start"
                elif batch:
                    payload = {"stroke_id": stroke.id, "offset": stroke.acked, "points": batch}
                    message = ("extend", stroke.acked, len(batch))
                    event = "stroke_extend"
                elif stroke.finished:
                    payload = {"stroke_id": stroke.id, "length": len(stroke.points)}
                    message = ("end", 0, 0)
                    event = "stroke_end"
                else:
                    event = ""
                if event:
                    sent_at = time.monotonic()
                    if event != "stroke_end":
                        sent[(stroke.id, message[1])] = sent_at
                    inflight = await sock.call(event, payload)
                    # Timed when the ack arrives, not at the next tick that looks at it.
                    inflight.add_done_callback(
                        lambda _, at=sent_at: ack_ms.append((time.monotonic() - at) * 1000)
                    )
                    stats["messages"] += 1
            elif inflight is not None:
                stats["busy_ticks"] += 1
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))

    readers = [asyncio.create_task(read(sock)) for sock in sockets]
    drawers: list[asyncio.Task[None]] = []
    while True:
        command = await commands.get()
        if command == "go":
            drawers = [asyncio.create_task(draw(s, k)) for k, s in enumerate(sockets)]
        elif command == "stop":
            for task in drawers:
                task.cancel()
            await asyncio.gather(*drawers, return_exceptions=True)
            ack_ms.sort()
            stats["ack_p50_ms"] = round(percentile(ack_ms, 0.5), 2)
            stats["ack_p99_ms"] = round(percentile(ack_ms, 0.99), 2)
            pipe.send(("result", sent, stats))
        elif command == "quit":
            for sock in sockets:
                await sock.close()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            pipe.send(("bye",))
            return


# --- set-up of each server --------------------------------------------------------------------


async def setup_takhti(url: str, classes: int, students: int) -> tuple[list[Any], list[Any]]:
    """First teacher via /api/setup, then K classes and N students each over HTTP."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/setup", json={"name": "bench", "password": PASSWORD}) as r:
            body = await r.json()
            if r.status != 201:
                raise RuntimeError(f"setup failed: {body}")
            token = body["token"]
        headers = {"Authorization": f"Bearer {token}"}
        teachers: list[dict[str, Any]] = []
        learners: list[list[dict[str, Any]]] = []
        for k in range(classes):
            async with http.post(
                f"{url}/api/classes", json={"title": f"Class {k}"}, headers=headers
            ) as r:
                created = await r.json()
            teachers.append({"token": token, "class_id": created["class_id"]})

            async def join(n: int, code: str = created["join_code"]) -> dict[str, Any]:
                async with http.post(
                    f"{url}/api/join", json={"join_code": code, "name": f"Student {n}"}
                ) as r:
                    joined = await r.json()
                    if r.status != 201:
                        raise RuntimeError(f"join failed: {joined}")
                    return {"token": joined["token"]}

            learners.append(await gather_limited([join(n) for n in range(students)], 8))
    return teachers, learners


def setup_relay(classes: int, students: int) -> tuple[list[Any], list[Any]]:
    teachers = [{"room": f"c{k}"} for k in range(classes)]
    learners = [[{"room": f"c{k}"}] * students for k in range(classes)]
    return teachers, learners


# --- one measured run -------------------------------------------------------------------------


def _busy(times: Any) -> float:
    """Busy CPU seconds in a ``cpu_times()`` result (process or whole machine)."""
    idle = getattr(times, "idle", 0.0) + getattr(times, "iowait", 0.0)
    if hasattr(times, "idle"):
        return (
            float(sum(times))
            - idle
            - getattr(times, "guest", 0.0)
            - getattr(times, "guest_nice", 0.0)
        )
    return float(times.user + times.system)


def _expect(pipe: Connection, tag: str, timeout: float = 300) -> tuple[Any, ...]:
    if not pipe.poll(timeout):
        raise TimeoutError(f"no {tag!r} from a client process")
    message: tuple[Any, ...] = pipe.recv()
    if message[0] != tag:
        raise RuntimeError(f"expected {tag!r}, got {message[0]!r}")
    return message


def measure(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_port()
    if kind == "takhti":
        argv = serve_argv(port, workdir, args.variant)
    else:
        argv = [sys.executable, str(ROOT / "bench" / "relay.py"), "--port", str(port)]
    env = {"TAKHTI_BENCH_VARIANT": args.variant} if kind == "takhti" else {}
    server = CommandServer(argv, port, workdir / f"{kind}.log", env)
    server.start()
    ctx = mp.get_context("spawn")
    procs: list[Any] = []
    pipes: list[Connection] = []
    try:
        log(f"{kind}: server pid {server.pid} on {server.url}; setting up")
        if kind == "takhti":
            teachers, learners = asyncio.run(setup_takhti(server.url, args.classes, args.students))
        else:
            teachers, learners = setup_relay(args.classes, args.students)
        proc = psutil.Process(server.pid)
        rss_before = proc.memory_info().rss
        everyone = [auth for room in learners for auth in room]
        chunks = [everyone[i :: args.receiver_procs] for i in range(args.receiver_procs)]
        for chunk in chunks:
            mine, theirs = ctx.Pipe()
            p = ctx.Process(
                target=receiver_process, args=(server.url, chunk, not args.no_deflate, theirs)
            )
            p.start()
            procs.append(p)
            pipes.append(mine)
        connected = sum(_expect(pipe, "connected")[1] for pipe in pipes)
        log(f"{kind}: {connected} students connected")
        time.sleep(args.settle)  # let the connection burst's garbage go before reading RSS
        rss_idle = proc.memory_info().rss
        idle_kb = (rss_idle - rss_before) / 1024 / max(1, connected)
        log(f"{kind}: idle RSS {rss_before / 2**20:.1f} -> {rss_idle / 2**20:.1f} MiB")

        mine, theirs = ctx.Pipe()
        teacher = ctx.Process(target=teacher_process, args=(server.url, teachers, theirs))
        teacher.start()
        procs.append(teacher)
        _expect(mine, "connected")
        mine.send("go")
        log(f"{kind}: drawing; warm-up {args.warmup} s, then {args.seconds} s measured")
        time.sleep(args.warmup)
        for pipe in pipes:
            pipe.send("mark")
        clients = [psutil.Process(p.pid) for p in procs]
        clients_start = sum(_busy(c.cpu_times()) for c in clients)
        machine_start = _busy(psutil.cpu_times())
        cpu_start = proc.cpu_times()
        wall_start = time.monotonic()
        for second in range(int(args.seconds)):
            time.sleep(1)
            if (second + 1) % 5 == 0:
                log(f"{kind}: {second + 1} s, server CPU {proc.cpu_percent():.0f}%")
        for pipe in pipes:
            pipe.send("stop")
        results = [_expect(pipe, "result") for pipe in pipes]
        cpu_end = proc.cpu_times()
        wall = time.monotonic() - wall_start
        clients_cpu = (sum(_busy(c.cpu_times()) for c in clients) - clients_start) / wall
        machine_cpu = (_busy(psutil.cpu_times()) - machine_start) / wall
        mine.send("stop")
        _, sent, stats = _expect(mine, "result")
        for pipe in [*pipes, mine]:
            pipe.send("quit")
            _expect(pipe, "bye")
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
        server.stop()

    latencies: list[float] = []
    unmatched = 0
    received_bytes = 0
    duration = 0.0
    closed = 0
    for _, records, nbytes, seconds, gone in results:
        received_bytes += nbytes
        duration = max(duration, seconds)
        closed += gone
        for stroke_id, offset, arrived in records:
            at = sent.get((stroke_id, offset))
            if at is None:
                unmatched += 1
            else:
                latencies.append((arrived - at) * 1000)
    latencies.sort()
    cpu = (cpu_end.user - cpu_start.user + cpu_end.system - cpu_start.system) / wall
    students = max(1, connected)
    summary = {
        "classes": args.classes,
        "students_per_class": args.students,
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "deliveries_per_s": round(len(latencies) / duration, 1),
        "server_cpu": round(cpu, 3),
        "bytes_per_student_minute": round(received_bytes / students / duration * 60),
        "idle_kb_per_student": round(idle_kb, 1),
        "server_cpu_us_per_delivery": round(cpu * 1e6 / max(1, len(latencies) / duration), 1),
        "clients_cpu": round(clients_cpu, 3),
        # CPU (in cores) used on this machine by anything else during the run: other people's
        # work on a shared box makes every latency here worse.
        "other_cpu": round(max(0.0, machine_cpu - cpu - clients_cpu), 3),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "unmatched": unmatched,
        "closed_receivers": closed,
        "teacher": stats,
    }
    log(f"{kind}: {json.dumps(summary)}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--students", type=int, default=30, help="students per class")
    parser.add_argument("--seconds", type=float, default=20, help="measured drawing time")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--settle", type=float, default=2, help="wait before reading idle RSS")
    parser.add_argument("--receiver-procs", type=int, default=2)
    parser.add_argument("--no-deflate", action="store_true", help="receivers refuse compression")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare relay run")
    parser.add_argument("--only-baseline", action="store_true")
    parser.add_argument(
        "--variant",
        default="",
        help="serve Takhti with bench/_serve_variant.py variations, e.g. sio-emit,uvloop",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="takhti-bench-") as tmp:
        workdir = Path(tmp)
        result: dict[str, Any] = {}
        if not args.only_baseline:
            result = measure("takhti", args, workdir)
        if not args.no_baseline:
            baseline = measure("relay", args, workdir)
            if not result:
                result = dict(baseline)
            result["baseline"] = baseline
            result["ratios"] = {
                key: round(result[key] / baseline[key], 3) if baseline[key] else None
                for key in (
                    "p50_ms",
                    "p99_ms",
                    "deliveries_per_s",
                    "server_cpu",
                    "bytes_per_student_minute",
                    "idle_kb_per_student",
                )
            }
    if args.variant:
        result["variant"] = args.variant
    if not args.only_baseline:
        # The targets for 20 x 30 on this 2-core machine, one server process.
        result["targets_met"] = {
            "p99_le_50ms": result["p99_ms"] <= 50,
            "bytes_le_100kb_per_student_minute": result["bytes_per_student_minute"] <= 100 * 1024,
            "idle_le_50kb_per_student": result["idle_kb_per_student"] <= 50,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
