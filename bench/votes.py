"""Vote burst: 1,000 students vote within one second over 2 server processes on one Redis.

Scenarios, each a fresh class of ``--students`` raw-websocket Socket.IO clients (one light client
process, ``testkit/crowd_client.py``) joined through ``POST /api/join``:

* ``redis2`` (the headline): two ``classroom serve`` processes sharing our own redis-server
  (``--appendonly yes --appendfsync always``, free port), students split between them, the
  teacher on the first. Every student votes once at a random moment within ``--within`` seconds;
  every tenth retries the same vote id before the first ack, every tenth (offset 1) changes its
  vote and then re-sends the old one (a stale retry).
* ``sqlite1`` (baseline): the same burst against one process on SQLite.

Measured: ``counted`` (responses in the final tally), ``duplicates`` (log entries beyond one per
(student, vote id)), ``ack_p50_ms``/``ack_p99_ms`` (send to ack, every vote send),
``tally_converged_ms`` (last tally-changing vote sent -> the teacher's live ``poll_tally`` first
equals the truth), ``errors`` (non-ok acks), ``burst_cpu_s`` (CPU seconds each process used during
the burst, and ``other``: the rest of the machine's busy time, other people's work included).

Progress goes to stderr; the last stdout line is one JSON object.
Run: ``.venv/bin/python bench/votes.py [--students 1000 --within 1.0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)

from testkit.crowd import (
    OPTIONS,
    Crowd,
    connect_teacher,
    crowd_session,
    ok,
    progress,
    vote_burst,
    whole_log,
)
from testkit.crowd_client import CrowdClient, percentile
from testkit.procs import ROOT, free_port, wait_for_port

TEACHER = "bench"
PASSWORD = "bench-votes-pass"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``), 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy so far (``/proc/stat``), 0 if unknown."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(f) for f in fields]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def redis_server(data_dir: Path, pids: list[int]) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
         "--appendfsync", "always", "--dir", str(data_dir), "--protected-mode", "no",
         "--loglevel", "warning", "--latency-monitor-threshold", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    pids.append(proc.pid)
    try:
        wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@contextlib.contextmanager
def servers(
    store_url: str, data_dir: Path, count: int, extra: list[str], pids: list[int]
) -> Iterator[list[str]]:
    """``count`` ``classroom serve`` processes on one store, with a teacher account."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TAKHTI_LOG_LEVEL": "WARNING"}
    store = ["--store", store_url, "--data-dir", str(data_dir)]
    subprocess.run(
        [sys.executable, "-m", "classroom.cli", "teacher", "add", TEACHER, *store],
        input=f"{PASSWORD}\n".encode(),
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
    )
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for n in range(count):
            port = free_port()
            log = (data_dir / f"server-{n}.log").open("ab")
            cmd = [sys.executable, "-m", "bench._votes_server", *extra, "--", "serve",
                   "--host", "127.0.0.1", "--port", str(port), *store]  # fmt: skip
            procs.append(
                subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            )
            pids.append(procs[-1].pid)
            wait_for_port(port, procs[-1])
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            stop(proc)


async def burst(
    urls: list[str],
    students: int,
    within_s: float,
    pids: dict[str, int],
    *,
    profiled: bool,
    store_url: str,
) -> dict[str, Any]:
    async with crowd_session() as http:
        crowd = await Crowd.create_class(http, urls, TEACHER, PASSWORD)
        await crowd.join(students)
        teacher = await connect_teacher(crowd, urls[0])
        try:
            await crowd.connect()
            made = await ok(
                teacher, "poll_create", {"kind": "single", "question": "?", "options": OPTIONS}
            )
            poll_id = made["poll_id"]
            await ok(teacher, "poll_open", {"poll_id": poll_id})
            for student in crowd.students:
                await student.client.wait_for_event("poll_opened")
            progress(f"burst: {students} students vote within {within_s} s")
            # Keep this process's own collector pauses out of the measured acks: a full
            # collection over a thousand clients took 30-140 ms here, in the middle of the burst.
            gc.collect()
            gc.freeze()
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            busy_before = machine_busy_seconds()
            await redis_latency(store_url, reset=True)
            servers = [pid for name, pid in pids.items() if name.startswith("server")]
            if profiled:
                for pid in servers:
                    os.kill(pid, signal.SIGUSR1)  # bench/_votes_server.py: start profiling
            lag = asyncio.create_task(loop_lag_ms())
            result = await vote_burst(crowd, poll_id, within_s=within_s)
            lag.cancel()
            lags = await lag
            truth = result.expected_counts
            converged_at = await converged(teacher, poll_id, truth)
            if profiled:
                for pid in servers:
                    os.kill(pid, signal.SIGUSR2)  # stop profiling, write the stats
            # CPU seconds each process spent on the burst (2 cores: >2 per second is overload).
            used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            busy = machine_busy_seconds() - busy_before
            cpu = {name: round(seconds, 2) for name, seconds in used.items()}
            cpu["other"] = round(max(0.0, busy - sum(used.values())), 2)
            slow_redis = await redis_latency(store_url, reset=False)
            snapshot = await ok(teacher, "class_snapshot", {})
            poll = next(p for p in snapshot["state"]["polls"]["polls"] if p["poll_id"] == poll_id)
            logged = [e for e in await whole_log(teacher) if e["type"] == "poll_voted"]
            keys = Counter((e["by"]["id"], e["data"]["vote_id"]) for e in logged)
            latencies = [v.ack_ms for v in result.votes]
            # The last vote that changed the tally (later sends were retries, acked duplicate).
            changing = [
                v.sent_at for v in result.votes if v.ack.get("ok") and not v.ack["duplicate"]
            ]
            last_counted = max(changing, default=result.last_sent_at)
            errors = Counter(v.ack["error"]["code"] for v in result.votes if not v.ack.get("ok"))
            return {
                "students": students,
                "processes": len(urls),
                "counted": poll["tally"]["responses"],
                "tally_exact": poll["tally"]["counts"] == truth,
                "duplicates": sum(n - 1 for n in keys.values()),
                "retries_acked_duplicate": sum(1 for v in result.votes if v.ack.get("duplicate")),
                "votes_sent": len(result.votes),
                "errors": dict(errors),
                "ack_p50_ms": round(percentile(latencies, 0.50), 1),
                "ack_p99_ms": round(percentile(latencies, 0.99), 1),
                "ack_max_ms": round(max(latencies), 1),
                "tally_converged_ms": (
                    None if converged_at is None else round((converged_at - last_counted) * 1000, 1)
                ),
                "burst_cpu_s": cpu,
                # Redis's own latency monitor: its slowest events (AOF fsync, script) >= 5 ms.
                "redis_slowest_ms": slow_redis,
                "students_loop_lag_ms": {
                    "p99": round(percentile(lags, 0.99), 1),
                    "max": round(max(lags, default=0.0), 1),
                },
            }
        finally:
            gc.unfreeze()
            await teacher.close()
            await crowd.close()


async def redis_latency(store_url: str, *, reset: bool) -> dict[str, int] | None:
    """The worst latency Redis saw per event kind since the last reset (``LATENCY LATEST``)."""
    if not store_url.startswith("redis://"):
        return None
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(store_url)
    try:
        if reset:
            await client.execute_command("LATENCY", "RESET")
            return None
        rows = await client.execute_command("LATENCY", "LATEST")
        return {(name.decode() if isinstance(name, bytes) else name): int(worst)
                for name, _, _, worst, *_ in rows}  # fmt: skip
    finally:
        await client.aclose()


async def loop_lag_ms(tick_s: float = 0.005) -> list[float]:
    """How late this process's event loop ran a ``tick_s`` sleep, over and over, until cancelled:
    the stalls of the load generator itself, which every ack in flight then shows as latency."""
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            due = loop.time() + tick_s
            await asyncio.sleep(tick_s)
            lags.append((loop.time() - due) * 1000)
    return lags


async def converged(teacher: CrowdClient, poll_id: str, truth: list[int]) -> float | None:
    """When the teacher first received a tally equal to ``truth`` (perf_counter), or None."""

    def first() -> float | None:
        for name, data, at in teacher.kept:
            tally = data["tally"] if name == "poll_tally" and data["poll_id"] == poll_id else {}
            if tally.get("counts") == truth:
                return at
        return None

    with contextlib.suppress(TimeoutError):
        await teacher.wait_until(lambda: first() is not None, timeout=30)
    return first()


def scenario(
    name: str, tmp: Path, processes: int, students: int, within: float, extra: list[str]
) -> dict[str, Any]:
    progress(f"--- {name}: {processes} process(es)")
    store_pids: list[int] = []
    server_pids: list[int] = []
    if name.startswith("sqlite"):
        store_cm: contextlib.AbstractContextManager[str] = contextlib.nullcontext(
            f"sqlite://{tmp / name / 'takhti.sqlite3'}"
        )
    else:
        (tmp / name / "redis").mkdir(parents=True)
        store_cm = redis_server(tmp / name / "redis", store_pids)
    with (
        store_cm as store_url,
        servers(store_url, tmp / name, processes, extra, server_pids) as urls,
    ):
        pids = {"students": os.getpid()}
        pids |= {f"server{n}": pid for n, pid in enumerate(server_pids)}
        if store_pids:
            pids["redis"] = store_pids[0]
        result = asyncio.run(
            burst(urls, students, within, pids, profiled=bool(extra), store_url=store_url)
        )
    progress(f"{name}: {json.dumps(result)}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--within", type=float, default=1.0, help="seconds the burst spans")
    parser.add_argument(
        "--profile-dir", type=Path, help="cProfile each redis2 server during the burst into DIR"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="votes-") as raw:
        tmp = Path(raw)
        extra: list[str] = []
        if args.profile_dir:
            args.profile_dir.mkdir(parents=True, exist_ok=True)
            extra = ["--profile", str(args.profile_dir / "redis2-{pid}.prof")]
        head = scenario("redis2", tmp, 2, args.students, args.within, extra)
        base = scenario("sqlite1", tmp, 1, args.students, args.within, [])
        report: dict[str, Any] = dict(head)
        report["baseline"] = {"name": "one process on SQLite, same burst", **base}
        report["ratios"] = {
            "ack_p50_vs_baseline": _ratio(head["ack_p50_ms"], base["ack_p50_ms"]),
            "ack_p99_vs_baseline": _ratio(head["ack_p99_ms"], base["ack_p99_ms"]),
            "tally_converged_vs_baseline": _ratio(
                head["tally_converged_ms"], base["tally_converged_ms"]
            ),
        }
        report["targets_met"] = {
            "counted": head["counted"] == args.students,
            "duplicates": head["duplicates"] == 0,
            "ack_p99_le_100ms": head["ack_p99_ms"] <= 100,
            "tally_converged_le_250ms": (head["tally_converged_ms"] or 1e9) <= 250,
        }
        report["cpus"] = os.cpu_count()
        report["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, separators=(",", ":")))
    return 0


def _ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return round(value / baseline, 2)


if __name__ == "__main__":
    sys.exit(main())
