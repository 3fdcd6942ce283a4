"""Failover on a real Redis Cluster: SIGKILL the class's master under a vote burst, lose nothing.

A `classroom serve` process on its own 3-master, 3-replica cluster; real Socket.IO students
vote; mid-burst the master that holds the class's slot is killed and its replica takes over
(automatic failover, ``cluster-node-timeout`` 1 s). A student whose vote was refused retries
with the same vote id, as the web client does. Every acknowledged vote is in the log after the
failover, and exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.crowd import OPTIONS, Crowd, connect_teacher, crowd_session, open_poll, whole_log
from testkit.procs import RedisCluster, ServerProcess, add_teacher

pytestmark = pytest.mark.slow

STUDENTS = 60
TEACHER = "failover"
PASSWORD = "failover-pass-1"


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """A cluster of this test's own: it kills a master."""
    cluster = RedisCluster(tmp_path / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def test_cluster_failover_under_a_vote_burst_loses_no_acknowledged_vote(
    own_cluster: RedisCluster, tmp_path: Path
) -> None:
    add_teacher(own_cluster.url, tmp_path, TEACHER, PASSWORD)
    server = ServerProcess(own_cluster.url, tmp_path / "a")
    server.start()
    try:
        async with crowd_session() as http:
            crowd = await Crowd.create_class(http, [server.url], TEACHER, PASSWORD)
            await crowd.join(STUDENTS)
            teacher = await connect_teacher(crowd, server.url)
            try:
                await crowd.connect()
                await _burst_with_failover(crowd, own_cluster, teacher)
            finally:
                await teacher.close()
                await crowd.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log()


async def _burst_with_failover(crowd: Crowd, cluster: RedisCluster, teacher: object) -> None:
    poll_id = await open_poll(crowd, teacher)
    master = cluster.owner_of(f"tk:{{{crowd.class_id}}}:log")
    acked: list[tuple[str, str]] = []
    refused = Counter[str]()
    half = asyncio.Event()

    async def vote(index: int) -> None:
        student = crowd.students[index]
        # The first half votes before the kill, the rest during and after it.
        if index >= STUDENTS // 2:
            await half.wait()
        payload = {"poll_id": poll_id, "vote_id": "v1", "option": index % len(OPTIONS)}
        give_up = time.monotonic() + 40
        while True:
            ack = await student.client.call("poll_vote", payload, timeout=40)
            if ack.get("ok"):
                acked.append((student.student_id, "v1"))
                if len(acked) == STUDENTS // 2:
                    half.set()
                return
            refused[ack["error"]["code"]] += 1
            assert time.monotonic() < give_up, ack
            await asyncio.sleep(0.1)  # a client's retry backoff, not synchronisation

    voters = asyncio.gather(*(vote(i) for i in range(STUDENTS)))
    await half.wait()
    cluster.kill(master)
    await voters
    # The replica took over: the cluster is whole again with a new master for the slot.
    await asyncio.to_thread(cluster.wait_healthy, 30, masters=2)
    assert cluster.owner_of(f"tk:{{{crowd.class_id}}}:log") != master

    logged = [e for e in await whole_log(teacher) if e["type"] == "poll_voted"]  # type: ignore[arg-type]
    keys = [(e["by"]["id"], e["data"]["vote_id"]) for e in logged]
    assert len(keys) == len(set(keys))  # nothing doubled
    assert set(acked) <= set(keys)  # nothing acknowledged lost
    assert len(acked) == STUDENTS
