"""A practice class's cost: 60 simulated students (``classroom simulate``) against a real server.

One ``classroom serve`` on SQLite; one teacher connection measures ``clock_sync`` round trips
(send to ack) every 100 ms, first with no students (the baseline, same run), then while
``--students`` busy simulated students (one ``classroom simulate`` process) join, vote in
three polls and draw with drawing allowed. Also measured: the CPU seconds the simulator and
the server used during the loaded phase, the simulator's error acks (a normal run: 0) and what
it did (votes, strokes, hands).

Progress goes to stderr; the last stdout line is one JSON object.
Run: ``flock /work/bench.lock .venv/bin/python bench/simulate.py [--students 60 --seconds 30]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
import aiohttp

from testkit.client import Api, Peer
from testkit.crowd_client import percentile
from testkit.procs import ROOT, ServerProcess, add_teacher

TEACHER = "bench"
PASSWORD = "bench-simulate-pass"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def rtts(teacher: Peer, seconds: float) -> list[float]:
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        await teacher.ok("clock_sync", {"client_time_ms": time.time() * 1000})
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.1)
    return out


async def polls(teacher: Peer, seconds: float) -> None:
    kinds: list[dict[str, Any]] = [
        {"kind": "single", "question": "Largest planet?", "options": ["Earth", "Jupiter"]},
        {"kind": "word_cloud", "question": "Plants need?", "max_words": 2},
        {"kind": "rating", "question": "How was it?"},
    ]
    for poll in kinds:
        poll_id = (await teacher.ok("poll_create", poll))["poll_id"]
        await teacher.ok("poll_open", {"poll_id": poll_id})
        await asyncio.sleep(seconds / len(kinds))
        await teacher.ok("poll_close", {"poll_id": poll_id})


async def main(students: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store = f"sqlite://{data / 'takhti.sqlite3'}"
        add_teacher(store, data, TEACHER, PASSWORD)
        server = ServerProcess(store, data)
        server.start()
        try:
            async with aiohttp.ClientSession() as http:
                api = Api(server.url, http)
                token = await api.login(TEACHER, PASSWORD)
                cls = await api.create_class(token, "Practice bench")
                teacher = Peer("teacher")
                await teacher.connect(server.url, {"token": token, "class_id": cls["class_id"]})
                log("baseline: no students")
                baseline = await rtts(teacher, 10)
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                sim = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "classroom.cli", "simulate", "--server", server.url,
                    "--code", str(cls["join_code"]), "--students", str(students),
                    "--profile", "busy", "--seed", "bench", "--control",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
                )  # fmt: skip
                await teacher.wait_until(
                    lambda: (
                        sum(1 for e, _ in teacher.events if e == "student_connected") >= students
                    ),
                    timeout=60,
                )
                log(f"{students} students in; polls and drawing for {seconds:.0f} s")
                await teacher.ok("board_allow_drawing", {})
                server_cpu0, sim_cpu0 = cpu_s(server.pid), cpu_s(sim.pid)
                loaded, _ = await asyncio.gather(rtts(teacher, seconds), polls(teacher, seconds))
                server_cpu, sim_cpu = cpu_s(server.pid) - server_cpu0, cpu_s(sim.pid) - sim_cpu0
                assert sim.stdin is not None
                sim.stdin.write(b'{"stop": true}\n')
                out, _ = await asyncio.wait_for(sim.communicate(), 60)
                summary = json.loads(out.decode().strip().splitlines()[-1])
                await teacher.disconnect()
        finally:
            server.stop()
    b50, b95 = percentile(baseline, 0.5), percentile(baseline, 0.95)
    l50, l95 = percentile(loaded, 0.5), percentile(loaded, 0.95)
    return {
        "bench": "simulate",
        "students": students,
        "seconds": seconds,
        "baseline_rtt_p50_ms": round(b50, 2),
        "baseline_rtt_p95_ms": round(b95, 2),
        "loaded_rtt_p50_ms": round(l50, 2),
        "loaded_rtt_p95_ms": round(l95, 2),
        "ratio_p50": round(l50 / b50, 2) if b50 else None,
        "ratio_p95": round(l95 / b95, 2) if b95 else None,
        "server_cpu_share": round(server_cpu / seconds, 3),
        "simulator_cpu_share": round(sim_cpu / seconds, 3),
        "error_acks": summary["error_acks"],
        "errors": summary["errors"],
        "votes": summary["votes"],
        "strokes": summary["strokes"],
        "hands": summary["hands"],
        "messages": summary["messages"],
        "load": os.getloadavg(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.students, args.seconds))))
