"""Benchmark: a late joiner on a slow link, while the teacher draws (issue 11, item 5).

Run: .venv/bin/python bench/late_join.py [--strokes 300] [--points 2000] [--rate 1000000]
Prints progress on stderr and one JSON object on the last stdout line.

The server runs in this process (SQLite store) with its rate limits on; the board is drawn
through the real write path; the joining student reads through a relay that passes the server's
bytes on at ``--rate`` bytes a second (``tests/support/slow.py``), so the server sees a slow
link's TCP backpressure.

* whole: the old way, one ``class_snapshot`` answer with the whole board (the server's limit on
  whole snapshots is lifted for this): its JSON size and build time, and whether the student
  was dropped as a slow reader (``--whole-tries`` times).
* paged: ``class_snapshot {paged}`` and ``class_snapshot_piece`` until done: bytes on the wire,
  pieces, seconds, dropped or not, the teacher's ink batches meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classroom.auth import hash_password  # noqa: E402
from classroom.classes import TeacherRecord  # noqa: E402
from classroom.keys import SERVICES  # noqa: E402
from classroom.log import Actor  # noqa: E402
from classroom.protocol import core as protocol_core  # noqa: E402
from classroom.settings import Settings  # noqa: E402
from tests.classroom.test_late_join import draw_while, fill_board, snapshot_in_pieces  # noqa: E402
from tests.conftest import Running, start_app  # noqa: E402
from tests.support.client import Api  # noqa: E402
from tests.support.slow import SlowLink, SlowSocket  # noqa: E402

PASSWORD = "bench-password-1"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def whole_try(running: Running, link: SlowLink, code: str, teacher: Any) -> dict[str, Any]:
    joined = await running.api.join(code, f"Whole {time.monotonic_ns()}")
    tablet = SlowSocket(parse_big_acks=False)
    await tablet.connect(link.url, {"token": joined["token"]})
    stop = asyncio.Event()
    drawing = asyncio.create_task(draw_while(teacher, stop))
    began = time.monotonic()
    try:
        ack = await tablet.call("class_snapshot", {}, timeout=120)
        outcome = "received" if ack.get("ok") else f"refused {ack}"
    except (ConnectionError, TimeoutError) as exc:
        outcome = f"dropped ({type(exc).__name__})"
    finally:
        stop.set()
        await drawing
    result = {
        "outcome": outcome,
        "seconds": round(time.monotonic() - began, 1),
        "received_bytes": tablet.received_bytes,
    }
    await tablet.close()
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            host="127.0.0.1", port=0, store_url=f"sqlite://{tmp}/takhti.sqlite3", data_dir=Path(tmp)
        )
        runner, url = await start_app(settings)
        services = runner.app[SERVICES]
        await services.store.add_teacher(TeacherRecord("bench", hash_password(PASSWORD), 0))
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            running = Running(url, runner.app, api, await api.login("bench", PASSWORD))
            klass = await running.new_class()
            class_id, code = str(klass["class_id"]), str(klass["join_code"])
            teacher = await running.teacher(class_id)
            log(f"drawing {args.strokes} strokes of {args.points} points")
            await fill_board(running, class_id, strokes=args.strokes, points=args.points)
            runtime = await services.hub.get(class_id)
            began = time.perf_counter()
            whole_json = json.dumps(runtime.snapshot(Actor("student", "bench"))[1])
            build_s = time.perf_counter() - began
            link = await SlowLink(url, bytes_per_s=args.rate).start()

            log(f"whole snapshot ({len(whole_json)} bytes) at {args.rate} B/s")
            limit = protocol_core.WHOLE_SNAPSHOT_POINTS
            protocol_core.WHOLE_SNAPSHOT_POINTS = 10**12
            try:
                whole = [
                    await whole_try(running, link, code, teacher) for _ in range(args.whole_tries)
                ]
            finally:
                protocol_core.WHOLE_SNAPSHOT_POINTS = limit

            log("paged snapshot")
            joined = await running.api.join(code, "Paged")
            tablet = SlowSocket()
            await tablet.connect(link.url, {"token": joined["token"]})
            stop = asyncio.Event()
            drawing = asyncio.create_task(draw_while(teacher, stop))
            began = time.perf_counter()
            _, sizes = await snapshot_in_pieces(tablet)
            paged_s = time.perf_counter() - began
            stop.set()
            batches = await drawing
            paged = {
                "wire_bytes": tablet.received_bytes,
                "pieces": len(sizes),
                "seconds": round(paged_s, 1),
                "dropped": tablet.closed.is_set(),
                "live_events_received_meanwhile": len(tablet.events),
                "teacher_batches_meanwhile": batches,
            }
            await tablet.close()
            await teacher.disconnect()
            await link.close()
        await runner.cleanup()
    return {
        "board_points": args.strokes * args.points,
        "rate_bytes_per_s": args.rate,
        "whole_json_bytes": len(whole_json),
        "whole_build_and_encode_s": round(build_s, 2),
        "whole": whole,
        "paged": paged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=300)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1_000_000)
    parser.add_argument("--whole-tries", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
