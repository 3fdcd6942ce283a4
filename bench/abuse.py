"""One hostile student against a live class: the attacks of issue 11, one after the other.

A real ``classroom serve`` process (SQLite store, stdout+stderr to a file, open-file limit
lowered to ``--server-nofile`` so descriptor exhaustion stays small, and told by
``TAKHTI_TRUST_PROXY`` that a reverse proxy sits at 127.0.0.250, or ``1`` where the server only
takes a boolean) serves one class: a teacher drawing at 30 batches/s and 30 students receiving
the ink (``bench/_abuse_class.py``), each student on its own loopback address like tablets on a
school LAN. First a quiet phase, the baseline of the same run; then each attack for ``--seconds``
from addresses of its own (``bench/_abuse_attacks.py``), so that limits per address fall on
the attacker and not on the class:

* ``reserved_events``: ``connect`` / ``disconnect`` sent as ordinary events in a loop;
* ``binary_attachments``: 3 sockets declare 9,999,999,999 binary attachments and stream bytes;
* ``stalled_polling``: 50 long-polling clients stop polling (at least 25 s: longer than
  Engine.IO's ping interval + timeout, so a dropped client is seen as dropped);
* ``token_connections``: up to 2,000 connections opened on one student token, then dropped;
* ``snapshot_flood``: 60 ``class_snapshot`` requests from one student (of a ~9 MB board);
* ``late_joiner``: a student joining on a 1 MB/s link fetches the ~9 MB board while the teacher
  draws (at least 25 s);
* ``join_guessing``: 9 wrong join codes per real join, then forged X-Forwarded-For, then
  lock-outs aimed at a victim's address, at the teacher and at a neighbour behind the proxy;
* ``image_uploads``: six 40-megapixel PNGs uploaded at once, then six 12-megapixel ones (the
  most a server that refuses bigger PNGs before decoding still decodes);
* ``invalid_frames``: websocket handshakes (no token) each followed by one invalid frame;
* ``fd_exhaustion``: half-open HTTP requests and idle sockets past the server's open-file limit.

For each phase: the real students' ink latency (teacher's send to a student's receipt; a message
that never arrived counts as the time to the end of the phase) and disconnects, server RSS (max,
sampled every 0.5 s), log bytes written and MB per minute, appends and connected
students from /metrics, server CPU, other processes' CPU, the attack's own figures and
``checks`` (True where the server behaved as the issue asks), and the four targets: no real
student (or the teacher) disconnected, ink p99 under 3x the quiet figure, RSS under 300 MB, log
growth under 1 MB/min. ``targets_met`` and ``checks_met`` sum them up per attack; ``warnings``
lists phases that could not run. A student who drops is reconnected before the next phase.

MB here is 2^20 bytes. Progress goes to stderr; the last stdout line is one JSON object
``{"quiet": {...}, "attacks": {name: {...}}, "targets_met": {...}, "other_cpu": ...}``.
Run: ``.venv/bin/python bench/abuse.py [--seconds 12] [--only NAME[,NAME]]``.
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
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

from _abuse_attacks import ATTACKS, attacker_process, join  # noqa: E402
from _abuse_class import class_process  # noqa: E402
from _abuse_clients import fetch_snapshot  # noqa: E402
from _common import RawSocket, gather_limited, log  # noqa: E402

PASSWORD = "bench-password-1"
TEACHER = "bench"
STUDENTS = 30
GRACE_S = 1.5  # after a phase, late ink may still arrive
RSS_LIMIT_MB = 300
LOG_LIMIT_MB_PER_MIN = 1.0
P99_FACTOR = 3.0
MIN_SECONDS = {"stalled_polling": 25.0, "late_joiner": 25.0}
NEEDS_BOARD = {"snapshot_flood", "late_joiner"}

# Who connects from where: one address per tablet, attackers on their own.
ADDRESSES: dict[str, Any] = {
    "real": [f"127.0.1.{i + 1}" for i in range(STUDENTS)],
    "reserved": ["127.0.3.1"],
    "binary": ["127.0.3.2", "127.0.3.3", "127.0.3.4"],
    "polling": [f"127.0.4.{i + 1}" for i in range(50)],
    "tokens": ["127.0.6.1"],
    "flood": ["127.0.5.2"],
    "late": "127.0.5.3",
    "guesser": "127.0.7.1",
    "victim": "127.0.7.200",
    "frames": [f"127.0.9.{i + 1}" for i in range(8)],
    "fd": [f"127.0.10.{i + 1}" for i in range(4)],
    "health": "127.0.10.200",
    "fd_join": "127.0.10.201",
}


def loopback_addresses() -> tuple[dict[str, Any], list[str]]:
    """:data:`ADDRESSES`, or all of them 127.0.0.1 where only that one can be bound (not Linux)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.1.1", 0))
        except OSError:
            same = {
                key: ["127.0.0.1"] * len(value) if isinstance(value, list) else "127.0.0.1"
                for key, value in ADDRESSES.items()
            }
            return same, [
                "only 127.0.0.1 can be bound here: every client shares one address, so limits "
                "per address hit the real class too"
            ]
    return ADDRESSES, []


# Which attack needs which students joined beforehand.
ATTACK_STUDENTS = {
    "reserved_events": "reserved",
    "binary_attachments": "binary",
    "stalled_polling": "polling",
    "token_connections": "tokens",
    "snapshot_flood": "flood",
}


# --- the server ---------------------------------------------------------------------------------

# The reverse proxy the server is told to trust (nothing listens there: the bench sends through
# it by binding this source address and adding X-Forwarded-For itself).
PROXY_ADDRESS = "127.0.0.250"


def trust_proxy_setting() -> str:
    """``TAKHTI_TRUST_PROXY`` for one proxy at :data:`PROXY_ADDRESS`.

    A server that takes a list of proxy addresses is given that address; one that only knows
    the boolean gets ``1`` (it then believes X-Forwarded-For from anyone, which is what the
    forged-header attack shows).
    """
    try:
        from classroom.settings import Settings

        probe = Settings.from_env({"TAKHTI_TRUST_PROXY": PROXY_ADDRESS})
    except Exception:
        return "1"
    return PROXY_ADDRESS if PROXY_ADDRESS in repr(probe) else "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path, port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """``classroom serve`` with its output to ``workdir/server.log`` and a low open-file limit."""
    argv = [
        sys.executable,
        "-m",
        "classroom.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        f"sqlite://{workdir / 'takhti.sqlite3'}",
        "--data-dir",
        str(workdir),
    ]
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TAKHTI_LOG_LEVEL": args.log_level,
        "TAKHTI_TRUST_PROXY": args.trust_proxy,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    nofile = args.server_nofile

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with (workdir / "server.log").open("ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, preexec_fn=limit_files
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited early: {(workdir / 'server.log').read_text()[-2000:]}"
            )
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r,
        ):
            if r.status == 200:
                return proc
        time.sleep(0.1)  # readiness poll of an external process
    proc.kill()
    raise TimeoutError("server did not answer /healthz")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


# --- set-up: the class, its students, a big board, a big picture ------------------------------


async def setup_class(url: str, attacks: list[str], addresses: dict[str, Any]) -> dict[str, Any]:
    """The teacher, one class, the 30 real students and the students the attacks use."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/setup", json={"name": TEACHER, "password": PASSWORD}) as r,
    ):
        body = await r.json()
        if r.status != 201:
            raise RuntimeError(f"setup failed: {body}")
        token = body["token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/classes", json={"title": "Abuse bench"}, headers=headers) as r,
    ):
        created = await r.json()
    code = created["join_code"]

    async def one(label: str, ip: str, n: int) -> dict[str, Any]:
        status, joined = await join(url, code, f"{label.title()} {n}", ip, deadline_s=60)
        if status != 201:
            raise RuntimeError(f"join from {ip} answered {status}: {joined}")
        return {"token": joined["token"], "student_id": joined["student_id"], "ip": ip}

    students: dict[str, list[dict[str, Any]]] = {}
    labels = ["real", *sorted({ATTACK_STUDENTS[a] for a in attacks if a in ATTACK_STUDENTS})]
    for label in labels:
        students[label] = await gather_limited(
            [one(label, ip, n) for n, ip in enumerate(addresses[label])], 8
        )
    return {
        "teacher_token": token,
        "class_id": created["class_id"],
        "join_code": code,
        "students": students,
    }


async def build_board(
    url: str, class_id: str, target_bytes: int, *, builders: int = 6, deadline_s: float = 60.0
) -> dict[str, Any]:
    """Draw ~``target_bytes`` of ink (as JSON points) on the class board from ``builders``
    teacher connections (each its own login: the per-connection ink rate limit is the pace)."""
    started = time.monotonic()
    deadline = started + deadline_s
    totals = {
        "bytes": 0,
        "points": 0,
        "messages": 0,
        "rate_limited": 0,
        "errors": 0,
        "builder_failures": 0,
    }

    async def login() -> str:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/api/login", json={"name": TEACHER, "password": PASSWORD}) as r,
        ):
            return str((await r.json())["token"])

    async def reader(sock: RawSocket) -> None:
        with contextlib.suppress(Exception):
            async for message in sock.ws:
                if message == "2":
                    await sock.ws.send("3")
                elif isinstance(message, str) and message.startswith("43"):
                    sock.handle_ack(message)
        for fut in sock.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("connection closed"))
                fut.exception()

    async def send(sock: RawSocket, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        while time.monotonic() < deadline:
            ack: dict[str, Any] = await asyncio.wait_for(await sock.call(event, payload), 20)
            error = ack.get("error") or {}
            if ack.get("ok") or error.get("code") != "RATE_LIMITED":
                return ack
            totals["rate_limited"] += 1
            await asyncio.sleep(float(error.get("retry_after_s", 0.1)) + 0.01)
        return {"ok": False, "error": {"code": "BENCH_DEADLINE"}}

    async def draw(k: int, attempt: int) -> None:
        sock = await RawSocket.open(
            url, {"token": await login(), "class_id": class_id}, deflate=False
        )
        task = asyncio.create_task(reader(sock))
        page = "page-1"
        serial = 0
        fresh_page = False
        rng = random.Random(k * 100 + attempt)
        try:
            while totals["bytes"] < target_bytes and time.monotonic() < deadline:
                serial += 1
                stroke = f"b{k}-{attempt}-{serial}"
                offset = 0
                x, y, t = rng.uniform(100, 1800), rng.uniform(100, 980), 0
                for batch_no in range(32):  # 2,048-point strokes, 64 points a batch
                    points = []
                    for _ in range(64):  # a pen's random walk, as a tablet reports it
                        x = min(1919.0, max(1.0, x + rng.uniform(-4, 4)))
                        y = min(1079.0, max(1.0, y + rng.uniform(-4, 4)))
                        t += rng.randint(6, 10)
                        points.append(
                            [round(x, 2), round(y, 2), round(rng.uniform(0.3, 0.9), 3), t]
                        )
                    if batch_no == 0:
                        payload = {
                            "stroke_id": stroke,
                            "page_id": page,
                            "tool": "pen",
                            "color": "#223344",
                            "width": 3,
                            "points": points,
                        }
                        ack = await send(sock, "stroke_start", payload)
                    else:
                        ack = await send(
                            sock,
                            "stroke_extend",
                            {"stroke_id": stroke, "offset": offset, "points": points},
                        )
                    totals["messages"] += 1
                    if not ack.get("ok"):
                        totals["errors"] += 1
                        code = (ack.get("error") or {}).get("code")
                        if code not in ("LIMIT_EXCEEDED", "PAYLOAD_TOO_LARGE") or (
                            fresh_page and batch_no == 0
                        ):
                            return  # the board takes no more (or something else is wrong)
                        page = f"bp{k}-{attempt}-{serial}"  # the page is full: go on on a new one
                        await send(sock, "page_add", {"page_id": page, "switch": False})
                        fresh_page = True
                        break
                    fresh_page = False
                    offset += 64
                    totals["points"] += 64
                    totals["bytes"] += len(json.dumps(points, separators=(",", ":")))
                await send(sock, "stroke_end", {"stroke_id": stroke, "length": offset})
        finally:
            task.cancel()
            await sock.close()

    async def builder(k: int) -> None:
        # A server that lets a teacher hold few connections closes some: open another one.
        for attempt in range(4):
            try:
                await draw(k, attempt)
                return
            except Exception:
                totals["builder_failures"] += 1
                if time.monotonic() >= deadline:
                    return
                await asyncio.sleep(0.5)

    await asyncio.gather(*(builder(k) for k in range(builders)))
    build_s = time.monotonic() - started
    # What a joining student receives: the snapshot ack(s), as JSON bytes.
    snapshot: dict[str, Any] = {}
    try:
        sock = await RawSocket.open(
            url, {"token": await login(), "class_id": class_id}, deflate=False
        )
        task = asyncio.create_task(reader(sock))

        async def request(event: str, payload: dict[str, Any]) -> tuple[Any, int]:
            ack = await asyncio.wait_for(await sock.call(event, payload), 60)
            return ack, len(json.dumps(ack, separators=(",", ":")))

        try:
            snapshot = await fetch_snapshot(request)
        finally:
            task.cancel()
            await sock.close()
    except Exception as exc:
        log(f"could not measure the board's snapshot: {exc!r}")
    return {
        "points": totals["points"],
        "messages": totals["messages"],
        "rate_limited": totals["rate_limited"],
        "errors": totals["errors"],
        "builder_failures": totals["builder_failures"],
        "build_s": round(build_s, 1),
        "snapshot_mb": round(snapshot.get("bytes", 0) / 2**20, 2),
        "snapshot": {k: v for k, v in snapshot.items() if k != "bytes"},
    }


def make_png(path: Path, width: int = 8000, height: int = 5000) -> None:
    """A 40-megapixel RGB PNG that compresses well (gradients and stripes)."""
    import numpy as np
    from PIL import Image

    x = np.linspace(0, 255, width, dtype=np.float32)
    row = np.stack([x, x[::-1], np.full(width, 96.0, np.float32)], axis=-1).astype(np.uint8)
    pixels = np.ascontiguousarray(np.broadcast_to(row, (height, width, 3)))
    pixels[::40] = 20
    Image.fromarray(pixels, "RGB").save(path, format="PNG", compress_level=6)


# --- measurement --------------------------------------------------------------------------------

METRIC = re.compile(r"^(takhti_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$", re.M)


def fetch_metrics(url: str, timeout: float = 2.0) -> dict[str, float] | None:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=timeout) as r:
            text = r.read().decode()
    except (OSError, urllib.error.URLError, ValueError):
        return None
    values: dict[str, float] = {}
    for name, labels, value in METRIC.findall(text):
        values[name + (labels or "")] = float(value)
    return values


def appended(metrics: dict[str, float] | None) -> float | None:
    if metrics is None:
        return None
    return metrics.get("takhti_events_appended_total")


def students_connected(metrics: dict[str, float] | None) -> float | None:
    if metrics is None:
        return None
    return metrics.get('takhti_connected_clients{role="student"}')


class Sampler:
    """Server RSS and descriptors every 0.5 s, /metrics every second, in background threads."""

    def __init__(self, pid: int, url: str) -> None:
        self.proc = psutil.Process(pid)
        self.url = url
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.window: dict[str, Any] = {}
        self.begin()
        for target in (self._memory, self._metrics):
            threading.Thread(target=target, daemon=True).start()

    def begin(self) -> None:
        with self.lock:
            self.window = {"rss": [], "fds": 0, "students_max": None, "metric_failures": 0}

    def end(self) -> dict[str, Any]:
        with self.lock:
            window = self.window
            self.window = {"rss": [], "fds": 0, "students_max": None, "metric_failures": 0}
        return window

    def _memory(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                rss = self.proc.memory_info().rss / 2**20
                fds = self.proc.num_fds()
            except psutil.Error:
                return
            with self.lock:
                self.window["rss"].append(rss)
                self.window["fds"] = max(self.window["fds"], fds)

    def _metrics(self) -> None:
        while not self.stopped.wait(1.0):
            value = students_connected(fetch_metrics(self.url))
            with self.lock:
                if value is None:
                    self.window["metric_failures"] += 1
                else:
                    best = self.window["students_max"]
                    self.window["students_max"] = value if best is None else max(best, value)


def _busy(times: Any) -> float:
    """Busy CPU seconds in a ``cpu_times()`` result (process or whole machine)."""
    if hasattr(times, "idle"):
        idle = times.idle + getattr(times, "iowait", 0.0)
        guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
        return float(sum(times)) - idle - guest
    return float(times.user + times.system)


class CpuMeter:
    """CPU of the server, of the benchmark's own processes, and of everything else (cores)."""

    def __init__(self, server: psutil.Process, ours: list[psutil.Process]) -> None:
        self.server = server
        self.ours = ours

    def read(self) -> tuple[float, float, float, float]:
        ours = 0.0
        for proc in self.ours:
            with contextlib.suppress(psutil.Error):
                ours += _busy(proc.cpu_times())
        return time.monotonic(), _busy(psutil.cpu_times()), _busy(self.server.cpu_times()), ours

    @staticmethod
    def delta(start: tuple[float, ...], end: tuple[float, ...]) -> dict[str, float]:
        wall = max(1e-6, end[0] - start[0])
        machine, server, ours = ((end[i] - start[i]) / wall for i in (1, 2, 3))
        return {
            "server_cpu": round(server, 3),
            "bench_cpu": round(ours, 3),
            "other_cpu": round(max(0.0, machine - server - ours), 3),
        }


def expect(pipe: Connection, tag: str, timeout: float) -> tuple[Any, ...]:
    if not pipe.poll(timeout):
        raise TimeoutError(f"no {tag!r} from a client process within {timeout:.0f} s")
    message: tuple[Any, ...] = pipe.recv()
    if message[0] != tag:
        raise RuntimeError(f"expected {tag!r}, got {message!r}"[:300])
    return message


def healthz_ms(url: str) -> float | None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
            r.read()
    except (OSError, urllib.error.URLError):
        return None
    return (time.monotonic() - started) * 1000


# --- the run ------------------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.quiet_p99: float | None = None
        self.quiet_appends_per_s: float | None = None
        self.warnings: list[str] = []

    def settle(self, class_pipe: Connection, students: int) -> float:
        """Wait (up to 20 s) until /healthz is quick again and every real student is back."""
        started = time.monotonic()
        quick = 0
        while time.monotonic() - started < 20:
            ms = healthz_ms(self.url)
            class_pipe.send(("count",))
            count = expect(class_pipe, "count", 30)[1]
            quick = quick + 1 if ms is not None and ms < 250 and count >= students else 0
            if quick >= 2 and time.monotonic() - started >= 1.0:
                break
            time.sleep(0.5)
        return round(time.monotonic() - started, 1)

    def phase(
        self,
        name: str,
        seconds: float,
        class_pipe: Connection,
        attack_pipe: Connection,
        sampler: Sampler,
        cpu: CpuMeter,
        server: psutil.Process,
    ) -> dict[str, Any]:
        settle_s = self.settle(class_pipe, STUDENTS)
        extra: dict[str, Any] = {}
        if name == "fd_exhaustion":
            limit = server.rlimit(psutil.RLIMIT_NOFILE)[0]
            extra["fd_headroom"] = limit - server.num_fds()
        log(f"phase {name}: {seconds:.0f} s (settled in {settle_s} s)")
        metrics_start = fetch_metrics(self.url, timeout=5)
        rss_start = server.memory_info().rss / 2**20
        log_start = self.log_path.stat().st_size
        cpu_start = cpu.read()
        sampler.begin()
        class_pipe.send(("mark", name))
        connected_at_start = expect(class_pipe, "marked", 30)[1]
        started = time.monotonic()
        if name == "quiet":
            time.sleep(seconds)
            figures: dict[str, Any] = {}
        else:
            attack_pipe.send(("run", name, seconds, extra))
            figures = expect(attack_pipe, "result", seconds * 3 + 150)[1]
            # An attack the server shrugs off ends early: the class is still measured for the
            # whole phase, so every phase has as many ink samples.
            time.sleep(max(0.0, started + seconds - time.monotonic()))
        class_pipe.send(("stop", GRACE_S))
        ink = expect(class_pipe, "result", 120)[1]
        wall = time.monotonic() - started
        cpu_end = cpu.read()
        window = sampler.end()
        log_bytes = self.log_path.stat().st_size - log_start
        with contextlib.suppress(psutil.Error):
            window["rss"].append(server.memory_info().rss / 2**20)
        rss_end = window["rss"][-1] if window["rss"] else None
        metrics_end = fetch_metrics(self.url, timeout=5)
        if name == "reserved_events" and "student_id" in figures:
            figures["presence_stuck_online"] = self.still_online(class_pipe, figures["student_id"])
            figures.setdefault("checks", {})["presence_follows_sockets"] = (
                figures["presence_stuck_online"] is False
            )
        if name == "image_uploads" and rss_end is not None:
            statuses = figures.get("statuses", {})
            figures.setdefault("checks", {}).update(
                {
                    # Decoded one at a time or by a pixel budget, and given back afterwards.
                    "memory_returns": rss_end - rss_start < 50,
                    # A refusal (413, 429, 503 BUSY) is a clear answer; 500 or none is not.
                    "no_internal_errors": not any(
                        str(status) in ("500", "0") for status in statuses
                    ),
                }
            )
        if name == "snapshot_flood" and "bench_error" not in figures:
            # Built off the loop or in pieces, snapshots do not hold up the class's ink.
            max_ms = ink["ink_max_ms"]
            figures.setdefault("checks", {})["ink_not_stalled"] = (
                max_ms is not None and max_ms < 500
            )
        a0, a1 = appended(metrics_start), appended(metrics_end)
        appends = None if a0 is None or a1 is None else a1 - a0
        result: dict[str, Any] = {
            **ink,
            "ink_sends_per_s": round(ink["ink_sends"] / max(0.1, wall - GRACE_S), 1),
            "connected_at_start": connected_at_start,
            "rss_mb": round(max(window["rss"]), 1) if window["rss"] else None,
            "rss_start_mb": round(rss_start, 1),
            "rss_end_mb": round(rss_end, 1) if rss_end is not None else None,
            "rss_growth_mb": round(max(window["rss"]) - rss_start, 1) if window["rss"] else None,
            "fds_max": window["fds"],
            "log_bytes": log_bytes,
            "log_mb_per_min": round(log_bytes / 2**20 / wall * 60, 3),
            "appends": appends,
            "appends_per_s": round(appends / wall, 1) if appends is not None else None,
            "connected_students_max": window["students_max"],
            "metrics_failures": window["metric_failures"],
            "phase_s": round(wall, 2),
            **CpuMeter.delta(cpu_start, cpu_end),
        }
        if name == "quiet":
            self.quiet_p99 = ink["ink_p99_ms"]
            self.quiet_appends_per_s = result["appends_per_s"]
        else:
            if result["appends_per_s"] is not None and self.quiet_appends_per_s is not None:
                result["excess_appends_per_s"] = round(
                    result["appends_per_s"] - self.quiet_appends_per_s, 1
                )
            result["attack"] = figures
        result["targets"] = self.targets(result)
        log(f"phase {name}: {json.dumps(result)}")
        return result

    def still_online(self, class_pipe: Connection, student_id: str) -> bool | None:
        """Whether the teacher's roster shows ``student_id`` online after all its sockets closed."""
        deadline = time.monotonic() + 3.0
        online: bool | None = None
        while time.monotonic() < deadline:
            class_pipe.send(("call", "roster_get", {}))
            ack = expect(class_pipe, "ack", 30)[1]
            students = ack.get("students") if isinstance(ack, dict) else None
            if not isinstance(students, list):
                return None
            online = any(s.get("student_id") == student_id and s.get("online") for s in students)
            if not online:
                return False
            time.sleep(0.5)  # the server may still be processing the close
        return online

    def targets(self, result: dict[str, Any]) -> dict[str, bool]:
        p99 = result["ink_p99_ms"]
        return {
            "no_real_student_disconnected": result["disconnects"] == 0
            and result["teacher_disconnects"] == 0,
            "ink_p99_under_3x_quiet": p99 is not None
            and self.quiet_p99 is not None
            and p99 <= P99_FACTOR * self.quiet_p99,
            "rss_under_300mb": result["rss_mb"] is not None and result["rss_mb"] < RSS_LIMIT_MB,
            "log_under_1mb_per_min": result["log_mb_per_min"] < LOG_LIMIT_MB_PER_MIN,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def execute(self) -> dict[str, Any]:
        args = self.args
        attacks = list(ATTACKS) if not args.only else args.only
        run_started = time.monotonic()
        self.port = free_port()
        server_proc = start_server(self.workdir, self.port, args)
        ctx_mp = mp.get_context("spawn")
        children: list[Any] = []
        pipes: list[Connection] = []
        try:
            server = psutil.Process(server_proc.pid)
            nofile = server.rlimit(psutil.RLIMIT_NOFILE)
            log(f"server pid {server_proc.pid} on {self.url}, RLIMIT_NOFILE {nofile}")
            addresses, self.warnings = loopback_addresses()
            setup = asyncio.run(setup_class(self.url, attacks, addresses))
            info: dict[str, Any] = {"students": STUDENTS}
            if NEEDS_BOARD & set(attacks):
                log(f"building a ~{args.board_mb} MB board")
                info["board"] = asyncio.run(
                    # JSON points come out ~6% smaller in the snapshot than as sent.
                    build_board(self.url, setup["class_id"], int(args.board_mb * 1.06 * 2**20))
                )
                log(f"board: {info['board']}")
            png = self.workdir / "big.png"
            png_decoded = self.workdir / "decoded.png"
            if "image_uploads" in attacks:
                make_png(png)
                make_png(png_decoded, 4000, 3000)
                info["png_mb"] = round(png.stat().st_size / 2**20, 2)
            try:
                from classroom import classes

                alphabet, length = classes.JOIN_CODE_ALPHABET, classes.JOIN_CODE_LENGTH
            except (ImportError, AttributeError):
                code = setup["join_code"]
                alphabet, length = "".join(sorted(set(code))), len(code)
            ctx = {
                "url": self.url,
                "class_id": setup["class_id"],
                "join_code": setup["join_code"],
                "join_alphabet": alphabet,
                "join_length": length,
                "teacher_token": setup["teacher_token"],
                "teacher_name": TEACHER,
                "password": PASSWORD,
                "students": setup["students"],
                "addresses": addresses,
                "png_path": str(png),
                "png_decoded_path": str(png_decoded),
                "binary_mb": args.binary_mb,
                "token_connections": args.token_connections,
                "late_read_rate": args.late_read_mb_s * 2**20,
                "proxy_address": PROXY_ADDRESS,
            }
            class_mine, class_theirs = ctx_mp.Pipe()
            real = [({"token": s["token"]}, s["ip"]) for s in setup["students"]["real"]]
            teacher_auth = {"token": setup["teacher_token"], "class_id": setup["class_id"]}
            child = ctx_mp.Process(
                target=class_process, args=(self.url, teacher_auth, real, class_theirs)
            )
            child.start()
            children.append(child)
            pipes.append(class_mine)
            log(f"class: {expect(class_mine, 'connected', 120)[1]} students connected")
            attack_mine, attack_theirs = ctx_mp.Pipe()
            child = ctx_mp.Process(target=attacker_process, args=(ctx, attack_theirs))
            child.start()
            children.append(child)
            pipes.append(attack_mine)
            expect(attack_mine, "ready", 60)
            ours = [psutil.Process(os.getpid())] + [psutil.Process(c.pid) for c in children]
            cpu = CpuMeter(server, ours)
            sampler = Sampler(server_proc.pid, self.url)
            whole_start = cpu.read()
            quiet = self.phase("quiet", args.seconds, class_mine, attack_mine, sampler, cpu, server)
            results: dict[str, Any] = {}
            for name in attacks:
                if server_proc.poll() is not None:
                    results[name] = {"skipped": f"the server exited ({server_proc.returncode})"}
                    continue
                if not all(child.is_alive() for child in children):
                    results[name] = {"skipped": "a client process of the benchmark died"}
                    continue
                seconds = max(args.seconds, MIN_SECONDS.get(name, 0.0))
                try:
                    results[name] = self.phase(
                        name, seconds, class_mine, attack_mine, sampler, cpu, server
                    )
                except Exception as exc:  # one broken phase must not lose the others
                    log(f"phase {name} failed: {exc!r}")
                    results[name] = {"bench_error": f"{type(exc).__name__}: {exc}"[:300]}
            whole = CpuMeter.delta(whole_start, cpu.read())
            sampler.stopped.set()
            for pipe in pipes:
                pipe.send(("quit",))
                with contextlib.suppress(Exception):
                    expect(pipe, "bye", 30)
        finally:
            for child in children:
                child.join(20)
                if child.is_alive():
                    child.terminate()
            stop_server(server_proc)
            if args.keep_log:
                Path(args.keep_log).write_bytes(self.log_path.read_bytes())

        targets = {name: r.get("targets", {"phase_ran": False}) for name, r in results.items()}
        checks = {
            name: r["attack"].get("checks", {}) for name, r in results.items() if "attack" in r
        }
        warnings = self.warnings + [
            f"{name}: {r.get('skipped') or r.get('bench_error') or r['attack']['bench_error']}"
            for name, r in results.items()
            if "skipped" in r or "bench_error" in r or "bench_error" in r.get("attack", {})
        ]
        if not quiet.get("ink_deliveries"):
            warnings.append(
                "no ink was matched in the quiet phase: has the ink wire format changed? "
                "(bench/_receiver.py INK_KEY)"
            )
        return {
            "quiet": quiet,
            "attacks": results,
            "targets_met": {
                **{name: all(t.values()) for name, t in targets.items()},
                "all": all(all(t.values()) for t in targets.values()),
                "by_target": targets,
            },
            "checks_met": {
                **{name: all(c.values()) for name, c in checks.items()},
                "all": all(all(c.values()) for c in checks.values()),
            },
            "other_cpu": whole["other_cpu"],
            "server_cpu": whole["server_cpu"],
            "bench_cpu": whole["bench_cpu"],
            "warnings": warnings,
            "setup": info,
            "seconds": args.seconds,
            "server_nofile": args.server_nofile,
            "trust_proxy": args.trust_proxy,
            "total_s": round(time.monotonic() - run_started, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12, help="length of each phase")
    parser.add_argument(
        "--only",
        type=lambda raw: [name for name in raw.split(",") if name],
        default=None,
        help=f"comma-separated attacks to run (after the quiet phase): {', '.join(ATTACKS)}",
    )
    parser.add_argument("--board-mb", type=float, default=9.0, help="board built for snapshots")
    parser.add_argument("--binary-mb", type=int, default=100, help="bytes streamed per socket")
    parser.add_argument("--token-connections", type=int, default=2000)
    parser.add_argument("--late-read-mb-s", type=float, default=1.0)
    parser.add_argument("--server-nofile", type=int, default=1024, help="server RLIMIT_NOFILE")
    parser.add_argument("--log-level", default="INFO", help="the server's TAKHTI_LOG_LEVEL")
    parser.add_argument("--keep-log", metavar="PATH", help="copy the server's log here")
    parser.add_argument(
        "--trust-proxy",
        default=None,
        help=f"the server's TAKHTI_TRUST_PROXY (default: {PROXY_ADDRESS} where the server takes "
        "proxy addresses, else 1)",
    )
    args = parser.parse_args()
    if args.trust_proxy is None:
        args.trust_proxy = trust_proxy_setting()
    unknown = [name for name in args.only or [] if name not in ATTACKS]
    if unknown:
        parser.error(f"unknown attack(s) {unknown}; choose from {', '.join(ATTACKS)}")
    with tempfile.TemporaryDirectory(prefix="takhti-abuse-") as tmp:
        result = Run(args, Path(tmp)).execute()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
