"""Server CPU per delivered stroke batch, for a fixed amount of work (before/after comparisons).

Unlike ``fanout.py`` this does not depend on how busy the machine is: one teacher sends
``--batches`` stroke batches of exactly 3 points (stop-and-wait, as fast as acks come back) to a
class of ``--students`` raw websocket receivers; the result is the server process's CPU time
divided by the number of deliveries. ``--variant sio-emit`` serves with the old fan-out
(``sio.emit``), ``--variant uvloop`` on uvloop.

Run: ``.venv/bin/python bench/emit_cost.py [--students 30 --batches 2000] [--variant sio-emit]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
import psutil
from _common import RawSocket, gather_limited, log, serve_argv
from fanout import setup_takhti

from testkit.procs import CommandServer, free_port


async def run(url: str, pid: int, students: int, batches: int, deflate: bool) -> dict[str, Any]:
    teachers, learners = await setup_takhti(url, 1, students)
    receivers = await gather_limited(
        [RawSocket.open(url, auth, deflate=deflate) for auth in learners[0]], 16
    )
    teacher = await RawSocket.open(url, teachers[0])
    got = [0]
    done = asyncio.Event()
    total = students * batches

    async def read(sock: RawSocket) -> None:
        async for message in sock.ws:
            if message == "2":
                await sock.ws.send("3")
            elif isinstance(message, str) and message.startswith('42["stroke_extended"'):
                got[0] += 1
                if got[0] == total:
                    done.set()

    async def read_acks() -> None:
        async for message in teacher.ws:
            if message == "2":
                await teacher.ws.send("3")
            elif isinstance(message, str) and message.startswith("43"):
                teacher.handle_ack(message)

    tasks = [asyncio.create_task(read(s)) for s in receivers]
    tasks.append(asyncio.create_task(read_acks()))
    start = {
        "stroke_id": "k",
        "page_id": "page-1",
        "tool": "pen",
        "color": "#1a1a1a",
        "width": 4,
        "points": [[100.0, 100.0, 0.5, 0]],
    }
    assert (await (await teacher.call("stroke_start", start)))["ok"]
    proc = psutil.Process(pid)
    cpu0 = proc.cpu_times()
    wall0 = time.monotonic()
    offset = 1
    # Paced under the per-client "board" limit (60/s): a fast server must not be rate limited.
    next_send = time.monotonic()
    for n in range(batches):
        await asyncio.sleep(max(0.0, next_send - time.monotonic()))
        next_send = max(next_send + 1 / 50, time.monotonic() - 0.1)
        points = [
            [100.0 + (offset + i) % 1700, 100.0 + (n % 800), 0.5, float(offset + i)]
            for i in range(3)
        ]
        payload: dict[str, Any] = {"stroke_id": "k", "offset": offset}
        payload["points"] = points
        ack = await (await teacher.call("stroke_extend", payload))
        if not ack["ok"]:
            raise RuntimeError(f"refused: {ack}")
        offset += 3
    await asyncio.wait_for(done.wait(), 120)
    cpu1 = proc.cpu_times()
    wall = time.monotonic() - wall0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in [*receivers, teacher]:
        await s.close()
    cpu = cpu1.user - cpu0.user + cpu1.system - cpu0.system
    return {
        "students": students,
        "batches": batches,
        "deliveries": got[0],
        "server_cpu_s": round(cpu, 3),
        "server_cpu_us_per_delivery": round(cpu * 1e6 / max(1, got[0]), 1),
        "server_cpu_us_per_batch": round(cpu * 1e6 / batches, 1),
        "server_system_share": round((cpu1.system - cpu0.system) / max(cpu, 1e-9), 2),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--variant", default="", help="see bench/_serve_variant.py")
    parser.add_argument("--no-deflate", action="store_true")
    args = parser.parse_args()
    if not 0 < args.batches <= 3000:
        parser.error("--batches: 1-3000 (one stroke holds at most 10,000 points)")
    with tempfile.TemporaryDirectory(prefix="takhti-emit-") as tmp:
        port = free_port()
        argv = serve_argv(port, Path(tmp), args.variant)
        server = CommandServer(
            argv, port, Path(tmp) / "server.log", {"TAKHTI_BENCH_VARIANT": args.variant}
        )
        server.start()
        try:
            log(f"server pid {server.pid}; {args.students} students, {args.batches} batches")
            result = asyncio.run(
                run(server.url, server.pid, args.students, args.batches, not args.no_deflate)
            )
        finally:
            server.stop()
    result["variant"] = args.variant
    result["deflate"] = not args.no_deflate
    print(json.dumps(result))


if __name__ == "__main__":
    main()
