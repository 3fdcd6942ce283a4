"""Benchmark: N students join one class at once; resume of a 10,000-event log; idle memory.

Run: .venv/bin/python bench/join.py [--students 500] [--events 10000] [--resume-only]
     [--resume-page 5000]
Prints progress on stderr and one JSON object on the last stdout line.

* join p50/p99: POST /api/join, Socket.IO connect with the token, first ``class_snapshot`` ack:
  what a student waits for between tapping "Join" and seeing the board.
* resume: a client asks ``log_resume`` from seq 0 and pages to the head of a 10,000-event log
  (cold: the class is not loaded yet; warm: loaded, served from the in-memory tail), with
  ``--resume-page`` events a page (the web client asks for 5,000), under the read rate limit.
* memory: server RSS growth per connected idle student.
* baseline: a bare python-socketio server (no auth, no log, no store) on the same machine with
  the same clients: connect + one ack, and its RSS growth per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
import aiohttp
import psutil
import socketio

from testkit.procs import add_teacher, free_port, wait_for_port

PASSWORD = "bench-password-1"
CLIENT_PROCESSES = 2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# ---- client workers (own processes, so the clients are not what is measured) -----------------


async def _join_many(
    url: str,
    code: str,
    count: int,
    start_at: float,
    prefix: str,
    bare: bool,
    hold: mp.synchronize.Event,
) -> dict[str, Any]:
    clients: list[socketio.AsyncClient] = []
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> float:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            began = time.perf_counter()
            client = socketio.AsyncClient(reconnection=False)
            if bare:
                await client.connect(url, transports=["websocket"], wait_timeout=30)
                await client.call("hello", {}, timeout=30)
            else:
                async with http.post(
                    f"{url}/api/join", json={"join_code": code, "name": f"{prefix}{i}"}
                ) as resp:
                    body = await resp.json()
                    if resp.status != 201:
                        raise RuntimeError(f"join failed: {body}")
                await client.connect(
                    url, auth={"token": body["token"]}, transports=["websocket"], wait_timeout=30
                )
                ack = await client.call("class_snapshot", {"paged": True}, timeout=30)
                while ack.get("ok") and ack.get("cursor"):
                    ack = await client.call(
                        "class_snapshot_piece", {"cursor": ack["cursor"]}, timeout=30
                    )
                if not ack.get("ok"):
                    raise RuntimeError(f"snapshot failed: {ack}")
            clients.append(client)
            return (time.perf_counter() - began) * 1000

        results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
        latencies = [r for r in results if isinstance(r, float)]
        errors = [repr(r) for r in results if not isinstance(r, float)]
        # Stay connected (idle) until the parent has measured memory.
        await asyncio.get_running_loop().run_in_executor(None, hold.wait)
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return {"latencies": latencies, "errors": errors[:5], "error_count": len(errors)}


def _worker(
    url: str,
    code: str,
    count: int,
    start_at: float,
    prefix: str,
    bare: bool,
    out: mp.Queue,
    ready: mp.Queue,
    hold: mp.synchronize.Event,
) -> None:
    async def main() -> dict[str, Any]:
        task = asyncio.create_task(_join_many(url, code, count, start_at, prefix, bare, hold))
        return await task

    result = asyncio.run(_with_ready(main(), ready))
    out.put(result)


async def _with_ready(coro: Any, ready: mp.Queue) -> Any:
    ready.put(True)
    return await coro


def run_joins(
    url: str, code: str, students: int, bare: bool, server_pid: int
) -> tuple[list[float], int, float]:
    """Join ``students`` at once from worker processes; return latencies, errors, RSS KB/client."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    ready: mp.Queue = ctx.Queue()
    hold = ctx.Event()
    per = students // CLIENT_PROCESSES
    server = psutil.Process(server_pid)
    rss_before = server.memory_info().rss
    start_at = time.time() + 3.0
    workers = [
        ctx.Process(
            target=_worker, args=(url, code, per, start_at, f"S{w}-", bare, out, ready, hold)
        )
        for w in range(CLIENT_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=60)
    # Wait for the joins to finish: poll the server's connection count through /metrics (bare
    # server: poll its RSS stability); bounded by a generous deadline.
    deadline = time.time() + 120
    expected = per * CLIENT_PROCESSES
    while time.time() < deadline:
        if _connected(url, bare) >= expected:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # let the server settle before reading RSS (measurement, not sync)
    rss_after = server.memory_info().rss
    hold.set()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    latencies = [lat for r in results for lat in r["latencies"]]
    errors = sum(r["error_count"] for r in results)
    for r in results:
        for e in r["errors"]:
            log(f"  error: {e}")
    kb_per_client = (rss_after - rss_before) / 1024 / max(1, len(latencies))
    return latencies, errors, kb_per_client


def _connected(url: str, bare: bool) -> int:
    import urllib.request

    path = "/count" if bare else "/metrics"
    try:
        with urllib.request.urlopen(url + path, timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return 0
    if bare:
        return int(text)
    for line in text.splitlines():
        if line.startswith('takhti_connected_clients{role="student"}'):
            return int(float(line.split()[-1]))
    return 0


# ---- the servers ------------------------------------------------------------------------------

BARE_SERVER = """
import socketio
from aiohttp import web
sio = socketio.AsyncServer(async_mode="aiohttp")
app = web.Application()
sio.attach(app)
count = 0
@sio.on("connect")
async def connect(sid, environ, auth=None):
    global count
    count += 1
@sio.on("disconnect")
async def disconnect(sid, reason=None):
    global count
    count -= 1
@sio.on("hello")
async def hello(sid, data):
    return {"ok": True}
async def counter(request):
    return web.Response(text=str(count))
app.router.add_get("/count", counter)
web.run_app(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), print=None)
"""


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "classroom.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TAKHTI_LOG_LEVEL": "WARNING"},
    )
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


async def make_class(url: str) -> tuple[str, str, str]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/api/login", json={"name": "bench", "password": PASSWORD}
        ) as resp:
            token = (await resp.json())["token"]
        async with http.post(
            f"{url}/api/classes",
            json={"title": "Bench"},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            body = await resp.json()
    return token, body["class_id"], body["join_code"]


async def seed_log(db: Path, class_id: str, events: int) -> None:
    """Append ``events`` board-sized events straight into the store (the server is stopped)."""
    from classroom.log import Actor, NewEvent
    from classroom.storage.sqlite import SqliteStore

    store = SqliteStore(db)
    await store.open()
    teacher = Actor("teacher", "bench", "bench")
    try:
        batch = []
        for n in range(events):
            pts = [round(100 + n % 500 + k * 1.5, 1) for k in range(12)]
            batch.append(
                NewEvent(
                    "stroke_extended",
                    teacher,
                    {"id": f"k{n // 20}", "offset": (n % 20) * 3, "pts": pts},
                    client_id=f"seed-{n}",
                )
            )
            if len(batch) == 500:
                await store.append(class_id, batch)
                batch = []
        if batch:
            await store.append(class_id, batch)
    finally:
        await store.close()


async def time_resume(
    url: str, teacher_token: str, class_id: str, limit: int
) -> tuple[float, int, int]:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        url,
        auth={"token": teacher_token, "class_id": class_id},
        transports=["websocket"],
        wait_timeout=30,
    )
    try:
        began = time.perf_counter()
        after, total, pages = 0, 0, 0
        while True:
            page = await client.call("log_resume", {"after_seq": after, "limit": limit}, timeout=60)
            if not page["ok"]:
                # RATE_LIMITED: wait as told, as the web client does.
                await asyncio.sleep(page["error"].get("retry_after_s", 1.0))
                continue
            total += len(page["events"])
            pages += 1
            after = page["next_after_seq"]
            if not page["more"]:
                break
        return (time.perf_counter() - began) * 1000, total, pages
    finally:
        await client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--resume-page", type=int, default=5000)
    parser.add_argument("--resume-only", action="store_true", help="only the resume part")
    args = parser.parse_args()
    if args.students < CLIENT_PROCESSES or args.events < 1:
        parser.error("--students must be >= 2 and --events >= 1")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store_url = f"sqlite://{data / 'takhti.sqlite3'}"
        add_teacher(store_url, data, "bench", PASSWORD)
        latencies: list[float] = []
        errors, kb = 0, 0.0
        if not args.resume_only:
            log("[1/4] starting the server")
            proc, url = start_server(data)
            try:
                teacher_token, _class_id, code = asyncio.run(make_class(url))
                log(f"[2/4] {args.students} students join at once")
                latencies, errors, kb = run_joins(url, code, args.students, False, proc.pid)
            finally:
                proc.terminate()
                proc.wait(30)

        log(f"[3/4] resume of a {args.events}-event log")
        _, class2, _ = (None, None, None)
        proc, url = start_server(data)
        try:
            teacher_token, class2, _ = asyncio.run(make_class(url))
        finally:
            proc.terminate()
            proc.wait(30)
        asyncio.run(seed_log(data / "takhti.sqlite3", class2, args.events))
        proc, url = start_server(data)
        try:
            page = args.resume_page
            cold_ms, got, pages = asyncio.run(time_resume(url, teacher_token, class2, page))
            warm_ms, got_warm, _ = asyncio.run(time_resume(url, teacher_token, class2, page))
        finally:
            proc.terminate()
            proc.wait(30)
        if got != args.events or got_warm != args.events:
            raise SystemExit(f"resume returned {got}/{got_warm} of {args.events} events")
    if args.resume_only:
        print(
            json.dumps(
                {
                    "resume_events": args.events,
                    "resume_page_limit": args.resume_page,
                    "resume_pages": pages,
                    "resume_cold_ms": round(cold_ms, 1),
                    "resume_warm_ms": round(warm_ms, 1),
                    "cpus": os.cpu_count(),
                }
            )
        )
        return

    log("[4/4] baseline: bare python-socketio server")
    bare, bare_url = start_bare()
    try:
        base_lat, base_errors, base_kb = run_joins(bare_url, "", args.students, True, bare.pid)
    finally:
        bare.terminate()
        bare.wait(30)

    result = {
        "students": args.students,
        "joined": len(latencies),
        "join_errors": errors,
        "join_p50_ms": pct(latencies, 0.50),
        "join_p99_ms": pct(latencies, 0.99),
        "join_mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "resume_events": args.events,
        "resume_page_limit": args.resume_page,
        "resume_pages": pages,
        "resume_cold_ms": round(cold_ms, 1),
        "resume_warm_ms": round(warm_ms, 1),
        "idle_kb_per_student": round(kb, 1),
        "baseline": {
            "what": "bare python-socketio: connect + one ack, no auth/log/store",
            "connect_p50_ms": pct(base_lat, 0.50),
            "connect_p99_ms": pct(base_lat, 0.99),
            "errors": base_errors,
            "idle_kb_per_connection": round(base_kb, 1),
        },
        "ratios": {
            "join_p99_vs_bare_connect_p99": round(pct(latencies, 0.99) / pct(base_lat, 0.99), 2),
            "idle_kb_vs_bare": round(kb / base_kb, 2) if base_kb > 0 else None,
        },
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
