"""Acknowledged means durable: SIGKILL the server (and Redis) right after the acks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from testkit.procs import RedisServer, ServerProcess, add_teacher
from testkit.scenario import Classroom, gather_acks, read_whole_log

PASSWORD = "durable-pass-1"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def _send_and_collect_acks(
    url: str, students: int = 4, per_student: int = 25
) -> tuple[Classroom, dict[str, int], int]:
    async with aiohttp.ClientSession() as http:
        room = await Classroom.create(http, url, "durable", PASSWORD)
        peers = [await room.student(f"S{i}") for i in range(students)]
        acked: dict[str, int] = {}
        sent = 0
        results = await asyncio.gather(
            *(
                gather_acks(
                    peer,
                    [
                        (
                            "hand_raise",
                            {"raised": n % 2 == 0, "client_id": f"{joined['student_id']}-{n}"},
                        )
                        for n in range(per_student)
                    ],
                )
                for peer, joined in peers
            )
        )
        for (_, joined), acks in zip(peers, results, strict=True):
            for n, ack in enumerate(acks):
                sent += 1
                if ack["ok"]:
                    acked[f"{joined['student_id']}-{n}"] = ack["seq"]
        # Kill while the clients are still connected: no goodbye, no flush.
        return room, acked, sent


async def _verify(url: str, room: Classroom, acked: dict[str, int]) -> None:
    async with aiohttp.ClientSession() as http:
        room.api.http = http
        room.api.base_url = url
        teacher = await room.teacher(url)
        events = await read_whole_log(teacher)
        await teacher.disconnect()
    by_cid = {e["cid"].removeprefix("hand:"): e["seq"] for e in events if "cid" in e}
    missing = {cid for cid in acked if cid not in by_cid}
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert all(by_cid[cid] == seq for cid, seq in acked.items())
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_sqlite_keeps_every_acked_event_after_sigkill(tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    add_teacher(store, tmp_path, "durable", PASSWORD)
    server = ServerProcess(store, tmp_path)
    server.start()
    try:
        room, acked, sent = await _send_and_collect_acks(server.url)
        server.kill()
        assert len(acked) >= 60, f"only {len(acked)} of {sent} acked"
        server.start()
        await _verify(server.url, room, acked)
    finally:
        server.stop()


async def test_redis_keeps_every_acked_event_after_sigkill_of_server_and_redis(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    add_teacher(own_redis.url, tmp_path, "durable", PASSWORD)
    server = ServerProcess(own_redis.url, tmp_path)
    server.start()
    try:
        room, acked, sent = await _send_and_collect_acks(server.url)
        server.kill()
        own_redis.kill()
        assert len(acked) >= 60, f"only {len(acked)} of {sent} acked"
        own_redis.start()
        server.start()
        await _verify(server.url, room, acked)
    finally:
        server.stop()


async def test_server_recovers_when_redis_restarts_under_it(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    """Redis killed and restarted while the server keeps running: acked events survive and
    the server goes on accepting writes without a restart."""
    add_teacher(own_redis.url, tmp_path, "durable", PASSWORD)
    server = ServerProcess(own_redis.url, tmp_path)
    server.start()
    try:
        room, acked, _ = await _send_and_collect_acks(server.url, students=2, per_student=10)
        own_redis.kill()
        own_redis.start()
        async with aiohttp.ClientSession() as http:
            room.api.http = http
            peer, joined = await room.student("after-restart")
            ack = await peer.call("hand_raise", {"raised": True, "client_id": "late"})
            assert ack["ok"], ack
            acked[f"late@{joined['student_id']}"] = ack["seq"]
            await peer.disconnect()
        acked.pop(f"late@{joined['student_id']}")
        await _verify(server.url, room, acked)
    finally:
        server.stop()
