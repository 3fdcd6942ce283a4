"""Two `classroom serve` processes share one Redis: a class spans both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from testkit.procs import RedisServer, ServerProcess, add_teacher
from testkit.scenario import Classroom, read_whole_log

PASSWORD = "two-procs-pass"


@pytest.fixture
def two_servers(
    tmp_path: Path, shared_store_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    add_teacher(shared_store_url, tmp_path, "twoproc", PASSWORD)
    a = ServerProcess(shared_store_url, tmp_path / "a")
    b = ServerProcess(shared_store_url, tmp_path / "b")
    a.start()
    b.start()
    yield a, b
    a.stop()
    b.stop()


async def test_events_sent_through_a_reach_students_on_b_in_order(
    two_servers: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    a, b = two_servers
    async with aiohttp.ClientSession() as http:
        room = await Classroom.create(http, a.url, "twoproc", PASSWORD)
        teacher = await room.teacher(a.url)
        raiser, raiser_joined = await room.student("Raiser", a.url)
        watcher, _ = await room.student("Watcher", b.url)
        rounds = 25  # within the per-client burst allowance
        for n in range(rounds):
            await raiser.ok("hand_raise", {"raised": True, "client_id": f"r{n}"})
            await teacher.ok(
                "hand_lower", {"student_id": raiser_joined["student_id"], "client_id": f"l{n}"}
            )

        def hand_events() -> list[dict[str, object]]:
            return [e for e in watcher.log_events() if e["type"] in ("hand_raised", "hand_lowered")]

        await watcher.wait_until(lambda: len(hand_events()) == 2 * rounds)
        got = hand_events()
        assert [e["type"] for e in got] == ["hand_raised", "hand_lowered"] * rounds
        assert [e["by"]["role"] for e in got] == ["student", "teacher"] * rounds
        seqs = watcher.seqs()
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))

        # Resume through B returns what was appended through A, with no gaps.
        resumed = await read_whole_log(watcher)
        resumed_seqs = [e["seq"] for e in resumed]
        assert resumed_seqs == sorted(set(resumed_seqs))
        # Events that the watcher may see are all there; others' presence events are not.
        assert {e["seq"] for e in got} <= set(resumed_seqs)
        assert not any(
            e["type"] == "student_joined" and e["by"]["name"] == "Raiser" for e in resumed
        )
        lowered_by_teacher = [e for e in resumed if e["type"] == "hand_lowered"]
        assert len(lowered_by_teacher) == rounds
        assert {e["cid"].removeprefix("lower:") for e in lowered_by_teacher} == {
            f"l{n}" for n in range(rounds)
        }

        # The teacher on A sees the watcher (connected to B) as online.
        await teacher.wait_until(
            lambda: sum(e == "student_connected" for e, _ in teacher.events) >= 2
        )
        roster = await teacher.ok("roster_get")
        online = {s["name"]: s["online"] for s in roster["students"]}
        assert online == {"Raiser": True, "Watcher": True}
        for peer in (teacher, raiser, watcher):
            await peer.disconnect()
