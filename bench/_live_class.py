"""A live class for bench/export.py, in its own process: a teacher drawing and students watching.

``python bench/_live_class.py URL TEACHER_TOKEN CLASS_ID JOIN_CODE STUDENTS STOP_FILE``: the
teacher draws a stroke of 4 point batches every 150 ms
(40 board events a second, within the board rate limit)
until STOP_FILE exists; every student receives each stroke. The last stdout line is JSON: acks
sent, ack p50/p99 ms, strokes each student saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import _path  # noqa: F401
import aiohttp

from testkit.client import Api, Peer

PEN = {"tool": "pen", "color": "#1a1a1a", "width": 20}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def main(url: str, token: str, class_id: str, code: str, count: int, stop: Path) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(url, http)
        students = []
        for number in range(count):
            joined = await api.join(code, f"Student {number}")
            peer = Peer(f"s{number}")
            await peer.connect(url, {"token": joined["token"]})
            students.append(peer)
        teacher = Peer("teacher")
        await teacher.connect(url, {"token": token, "class_id": class_id})
        print("ready", flush=True)
        acks: list[float] = []
        refused: dict[str, int] = {}
        strokes = 0

        async def send(event: str, payload: dict[str, object]) -> None:
            sent = time.perf_counter()
            ack = await teacher.call(event, payload)
            acks.append((time.perf_counter() - sent) * 1000)
            if not ack.get("ok"):
                code = str(ack.get("error", {}).get("code"))
                refused[code] = refused.get(code, 0) + 1

        while not stop.exists():
            began = time.perf_counter()
            stroke_id = f"k{strokes}"
            await send("stroke_start", {"stroke_id": stroke_id, "page_id": "page-1", **PEN})
            for batch in range(4):
                points = [
                    [100.0 + 10 * i + strokes % 1500, 100.0 + 40 * batch, 0.5, 16 * (4 * batch + i)]
                    for i in range(4)
                ]
                await send(
                    "stroke_extend", {"stroke_id": stroke_id, "offset": 4 * batch, "points": points}
                )
            await send("stroke_end", {"stroke_id": stroke_id, "length": 16})
            strokes += 1
            await asyncio.sleep(max(0.0, 0.15 - (time.perf_counter() - began)))
        seen = [sum(1 for name, _ in p.events if name == "stroke_ended") for p in students]
        for peer in [teacher, *students]:
            await peer.disconnect()
    print(
        json.dumps(
            {
                "strokes": strokes,
                "acks": len(acks),
                "ack_p50_ms": round(percentile(acks, 0.5), 2),
                "ack_p99_ms": round(percentile(acks, 0.99), 2),
                "students_saw_min": min(seen) if seen else 0,
                "refused": refused,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    u, tok, cid, jc, n, s = sys.argv[1:7]
    asyncio.run(main(u, tok, cid, jc, int(n), Path(s)))
