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
    sim = await Sim.start(running.url, str(cls["join_code"]), n, seed, "--time-scale", "0.3")
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


QUIZ = {
    "title": "Tables",
    "questions": [
        {"type": "single", "question": "7 x 8?", "options": ["54", "56", "58"], "correct": [1]},
        {"type": "numeric", "question": "6 x 7?", "correct": 42},
        {"type": "true_false", "question": "9 is odd", "correct": True},
    ],
}


def _count(teacher: Peer, event: str, **match: Any) -> int:
    return sum(
        1
        for e, d in teacher.events
        if e == event and all(d["data"].get(k) == v for k, v in match.items())
    )


async def test_a_quiz_runs_to_the_podium_and_a_dropped_student_keeps_their_score(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    n = 3
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    os.environ["TAKHTI_SIMULATE_TEACHER_TOKEN"] = running.teacher_token
    try:
        sim = await Sim.start(running.url, str(cls["join_code"]), n, "q", "--wrong-rate", "0")
    finally:
        del os.environ["TAKHTI_SIMULATE_TEACHER_TOKEN"]
    try:
        await _wait_online(teacher, n)
        quiz_id = (await teacher.ok("quiz_create", {"quiz": QUIZ}))["quiz_id"]
        await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})
        await teacher.wait_until(lambda: _count(teacher, "quiz_answered", question=0) >= n)
        await teacher.ok("quiz_next", {"quiz_id": quiz_id})  # close q0: scores counted
        snap = await teacher.ok("class_snapshot")
        ranking = snap["state"]["quizzes"]["quizzes"][0]["ranking"]
        scores = {r["student_id"]: r["score"] for r in ranking}
        assert len(scores) == n and all(s > 0 for s in scores.values())  # all right (rate 0)

        # Student 0 drops off the Wi-Fi and comes back with the same token.
        await sim.send({"drop": 0, "away_s": 0.3})
        await teacher.wait_until(lambda: _count(teacher, "student_disconnected") >= 1)
        dropped = next(
            d["data"]["student_id"] for e, d in teacher.events if e == "student_disconnected"
        )
        await teacher.wait_until(
            lambda: _count(teacher, "student_connected", student_id=dropped) >= 2
        )
        snap = await teacher.ok("class_snapshot")
        again = {
            r["student_id"]: r["score"] for r in snap["state"]["quizzes"]["quizzes"][0]["ranking"]
        }
        assert again[dropped] == scores[dropped]
        assert len(snap["state"]["core"]["students"]) == n  # the same student, not a new one

        for question in (1, 2):
            await teacher.ok("quiz_next", {"quiz_id": quiz_id})  # open
            await teacher.wait_until(
                lambda q=question: _count(teacher, "quiz_answered", question=q) >= n
            )
            await teacher.ok("quiz_next", {"quiz_id": quiz_id})  # close
        await teacher.ok("quiz_next", {"quiz_id": quiz_id})  # past the last: the podium
        await teacher.wait_until(lambda: _count(teacher, "quiz_ended") == 1)
        ended = next(d["data"] for e, d in teacher.events if e == "quiz_ended")
        assert ended["players"] == n and len(ended["podium"]) == n
        assert all(entry["score"] > scores[entry["student_id"]] for entry in ended["podium"])
    finally:
        summary = await sim.stop()
        await teacher.disconnect()
    assert summary["error_acks"] == 0, summary["errors"]
    assert summary["answers"] == 3 * n and summary["drops"] == 1 and summary["rejoins"] == 1


async def test_a_busy_class_draws_raises_hands_within_every_rate_limit(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    n = 5
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "classroom.cli", "simulate", "--server", running.url,
        "--code", str(cls["join_code"]), "--students", str(n), "--profile", "busy",
        "--time-scale", "0.05", "--control",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    sim = Sim(proc)
    try:
        await _wait_online(teacher, n)
        await teacher.ok("board_allow_drawing", {})
        tally = await _poll_round(
            teacher, n, kind="single", question="Best fruit?", options=["Mango", "Apple"]
        )
        assert tally["responses"] == n
        await teacher.wait_until(lambda: _count(teacher, "stroke_ended") >= n, timeout=30)
        await teacher.wait_until(lambda: _count(teacher, "hand_raised") >= 2, timeout=30)
        hand = next(d["data"]["student_id"] for e, d in teacher.events if e == "hand_raised")
        await teacher.ok("hand_lower", {"student_id": hand})
        await teacher.ok("board_revoke_drawing", {})
    finally:
        summary = await sim.stop()
        await teacher.disconnect()
    assert summary["error_acks"] == 0, summary["errors"]
    assert summary["strokes"] >= n and summary["hands"] >= 2
    # Every stroke arrived whole: started, extended in order, ended with its length.
    ends = [d["data"] for e, d in teacher.events if e == "stroke_ended"]
    assert all(end["n"] >= 20 for end in ends)


async def test_a_weak_link_class_drops_and_comes_back_without_error_acks(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    n = 4
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "classroom.cli", "simulate", "--server", running.url,
        "--code", str(cls["join_code"]), "--students", str(n), "--profile", "weak-link",
        "--time-scale", "0.03", "--seed", "2g", "--control",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    sim = Sim(proc)
    try:
        await _wait_online(teacher, n)
        # Several drops and rejoins: every student's device disconnects and connects again.
        await teacher.wait_until(lambda: _count(teacher, "student_disconnected") >= 3, timeout=30)
        await teacher.wait_until(lambda: _count(teacher, "student_connected") >= n + 3, timeout=30)
    finally:
        summary = await sim.stop()
        await teacher.disconnect()
    assert summary["error_acks"] == 0, summary["errors"]
    # (the last rejoin may still be reading its snapshot when the run stops)
    assert summary["drops"] >= 3 and summary["rejoins"] >= 2
    assert summary["joined"] == n  # rejoining is the same student, never a new one
    roster = {d["data"]["student_id"] for e, d in teacher.events if e == "student_joined"}
    assert len(roster) == n
