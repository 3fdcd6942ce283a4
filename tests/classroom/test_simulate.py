"""``classroom simulate``: simulated students in their own process against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from testkit.client import Peer
from tests.conftest import Running

ROOT = Path(__file__).resolve().parents[2]


class Sim:
    """``classroom simulate --control`` as a child process, driven through its stdin."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str, code: str, students: int, seed: str = "7", *extra: str) -> Sim:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "classroom.cli", "simulate", "--server", url, "--code", code,
            "--students", str(students), "--profile", "test", "--seed", seed, "--control",
            *extra,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        return cls(proc)

    async def send(self, order: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(order) + "\n").encode())
        await self.proc.stdin.drain()

    async def stop(self) -> dict[str, Any]:
        await self.send({"stop": True})
        out, _ = await asyncio.wait_for(self.proc.communicate(), 30)
        return dict(json.loads(out.decode().strip().splitlines()[-1]))


def _connected(teacher: Peer) -> set[str]:
    return {d["data"]["student_id"] for e, d in teacher.events if e == "student_connected"}


async def _wait_online(teacher: Peer, n: int) -> None:
    await teacher.wait_until(lambda: len(_connected(teacher)) >= n, timeout=20)


def _tallies(teacher: Peer, poll_id: str) -> list[dict[str, Any]]:
    return [d["tally"] for e, d in teacher.events if e == "poll_tally" and d["poll_id"] == poll_id]


async def _poll_round(teacher: Peer, n: int, **poll: Any) -> dict[str, Any]:
    created = await teacher.ok("poll_create", poll)
    poll_id = created["poll_id"]
    await teacher.ok("poll_open", {"poll_id": poll_id})
    await teacher.wait_until(
        lambda: any(t["responses"] >= n for t in _tallies(teacher, poll_id)), timeout=20
    )
    await teacher.ok("poll_close", {"poll_id": poll_id})
    return _tallies(teacher, poll_id)[-1]


async def _lesson(
    running: Running, n: int, seed: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    sim = await Sim.start(running.url, str(cls["join_code"]), n, seed)
    try:
        await _wait_online(teacher, n)
        tallies = [
            await _poll_round(
                teacher, n, kind="single", question="2 + 2?", options=["3", "4", "5"]
            ),
            await _poll_round(teacher, n, kind="rating", question="How was it?", scale_max=5),
            await _poll_round(teacher, n, kind="word_cloud", question="Plants need?", max_words=2),
            await _poll_round(teacher, n, kind="open_text", question="Why?"),
            await _poll_round(
                teacher, n, kind="multiple", question="Even?", options=["1", "2", "4"]
            ),
            await _poll_round(teacher, n, kind="yes_no", question="Ready?"),
        ]
    finally:
        summary = await sim.stop()
        await teacher.disconnect()
    return tallies, summary


async def test_a_seeded_run_repeats_its_answers_in_a_fresh_class(running_sqlite: Running) -> None:
    first, first_summary = await _lesson(running_sqlite, 4, "seed-a")
    second, second_summary = await _lesson(running_sqlite, 4, "seed-a")
    strip = [{k: v for k, v in t.items() if k != "poll_id"} for t in first]
    assert strip == [{k: v for k, v in t.items() if k != "poll_id"} for t in second]
    assert first_summary["choices"] == second_summary["choices"]
    assert first_summary["error_acks"] == 0 and second_summary["error_acks"] == 0
    assert first_summary["votes"] == 4 * 6
    # Every kind got answers (the word cloud has words, the open text answers).
    assert first[0]["responses"] == 4 and sum(first[0]["counts"]) == 4
    assert first[2]["words"]
