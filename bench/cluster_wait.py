"""What WAIT costs an append on Redis Cluster: per-append latency with and without it.

Starts a real redis-server and a real 3-master, 3-replica cluster (AOF fsync always on every
node) and times ``--appends`` single-event appends, one after the other, to one class on each:
one Redis (the baseline), the cluster with ``wait_replicas=0`` (no WAIT) and with the default
``wait_replicas=1`` (the append is acked once a replica has it).

Run: ``.venv/bin/python bench/cluster_wait.py [--appends 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
from _common import log, percentile

from classroom.log import Actor, NewEvent
from classroom.storage import open_store
from testkit.procs import RedisCluster, RedisServer

TEACHER = Actor("teacher", "amina", "amina")


async def measure(url: str, appends: int, data_dir: Path) -> dict[str, Any]:
    store = open_store(url, data_dir=data_dir)
    await store.open()
    try:
        class_id = f"c_{secrets.token_hex(6)}"
        for n in range(50):  # warm-up: connections, script load
            await store.append(class_id, [NewEvent("note", TEACHER, {"n": n}, client_id=f"w{n}")])
        times: list[float] = []
        for n in range(appends):
            event = NewEvent("note", TEACHER, {"n": n}, client_id=f"k{n}")
            began = time.perf_counter()
            await store.append(class_id, [event])
            times.append((time.perf_counter() - began) * 1000)
    finally:
        await store.close()
    times.sort()
    return {
        "p50_ms": round(percentile(times, 0.5), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "mean_ms": round(sum(times) / len(times), 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        single = RedisServer(root / "single")
        cluster = RedisCluster(root / "cluster")
        single.start()
        cluster.start()
        try:
            log("one Redis")
            baseline = await measure(single.url, args.appends, root)
            log("cluster, no WAIT")
            no_wait = await measure(cluster.url + "?wait_replicas=0", args.appends, root)
            log("cluster, WAIT 1")
            wait = await measure(cluster.url, args.appends, root)
        finally:
            single.stop()
            cluster.stop()
    print(
        json.dumps(
            {
                "appends": args.appends,
                "loadavg": os.getloadavg()[0],
                "single": baseline,
                "cluster_no_wait": no_wait,
                "cluster_wait_1": wait,
                "wait_cost_p50_ms": round(wait["p50_ms"] - no_wait["p50_ms"], 3),
                "wait_ratio_p50": round(wait["p50_ms"] / no_wait["p50_ms"], 2),
                "cluster_wait_vs_single_p50": round(wait["p50_ms"] / baseline["p50_ms"], 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
