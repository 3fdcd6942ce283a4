"""What reading a long lesson's log costs the event loop (every live class's fan-out runs on it).

A 1,000-stroke synthetic lesson (``bench/library.py``'s lessons) in a SQLite store is read in
pages of 2,000 events, as the library's catalog, a replay and a class's load read it, while a
probe on the same loop wakes every millisecond and records how late it woke (``lag``). Two ways
in the same run, alternating: ``store``, ``SqliteStore.read_after`` as it is (the JSON decoded
and the events built in the reader's thread), and ``on_loop`` (baseline), the same rows decoded
on the loop as before. Prints one JSON object last: each way's lag p50/p99/max and read time.

    flock /work/bench.lock .venv/bin/python bench/read_lag.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401
from _common import log
from library import write_lessons

from classroom.log import Event
from classroom.storage import open_store

PAGE = 2000


async def _probe(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - started - 0.001) * 1000)


async def _read_on_loop(store: Any, class_id: str, after: int) -> list[Event]:
    rows = await store._read(
        lambda conn: conn.execute(
            "SELECT record FROM events WHERE class_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (class_id, after, PAGE),
        ).fetchall()
    )
    return [Event.from_record(class_id, json.loads(row[0])) for row in rows]


async def _measure(store: Any, class_id: str, way: str) -> dict[str, float]:
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(_probe(lags, stop))
    started = time.perf_counter()
    after, read = 0, 0
    while True:
        if way == "store":
            page = await store.read_after(class_id, after, PAGE)
        else:
            page = await _read_on_loop(store, class_id, after)
        if not page:
            break
        after, read = page[-1].seq, read + len(page)
    spent = time.perf_counter() - started
    stop.set()
    await probe
    lags.sort()
    return {
        "events": read,
        "read_s": round(spent, 2),
        "lag_p50_ms": round(lags[len(lags) // 2], 2),
        "lag_p99_ms": round(lags[int(len(lags) * 0.99)], 2),
        "lag_max_ms": round(lags[-1], 2),
    }


async def run(rounds: int, strokes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log(f"writing a {strokes}-stroke lesson")
        class_id = (await write_lessons(data_dir, strokes))[0]
        store = open_store("sqlite:///", data_dir=data_dir)
        await store.open()
        try:
            out: dict[str, list[dict[str, float]]] = {"store": [], "on_loop": []}
            for n in range(rounds):
                for way in ("on_loop", "store") if n % 2 else ("store", "on_loop"):
                    result = await _measure(store, class_id, way)
                    out[way].append(result)
                    log(f"{way}: {result}")
        finally:
            await store.close()

    def best(way: str, key: str) -> float:
        return min(r[key] for r in out[way])

    summary: dict[str, Any] = {"rounds": rounds, "events": out["store"][0]["events"]}
    for way in out:
        summary[way] = {k: best(way, k) for k in ("read_s", "lag_p99_ms", "lag_max_ms")}
    summary["lag_p99_ratio"] = round(
        summary["on_loop"]["lag_p99_ms"] / max(summary["store"]["lag_p99_ms"], 0.01), 1
    )
    summary["loadavg"] = os.getloadavg()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--strokes", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.rounds, args.strokes))))


if __name__ == "__main__":
    main()
