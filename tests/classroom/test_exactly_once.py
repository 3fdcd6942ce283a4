"""Exactly once at scale: 1,000 students on two `classroom serve` processes sharing one Redis.

Students are light raw-websocket Socket.IO clients (``testkit/crowd_client.py``), the same traffic
``bench/votes.py`` measures. A vote burst with retries ends with a tally equal to the number of
students, per option, on both processes and in the teacher's live tally; a burst of quiz answers
around the deadline has every ok-acknowledged answer counted, every counted answer acknowledged,
none counted after the deadline and none refused before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.crowd import (
    Crowd,
    answer_burst,
    clock_offset_ms,
    connect_teacher,
    crowd_session,
    http_json,
    ok,
    open_poll,
    plan_of,
    vote_burst,
    whole_log,
)
from testkit.crowd_client import CrowdClient
from testkit.procs import ServerProcess, add_teacher

pytestmark = pytest.mark.slow

STUDENTS = 1000
TEACHER = "scale"
PASSWORD = "scale-test-pass"


@pytest.fixture
def two_servers(
    tmp_path: Path, shared_store_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    add_teacher(shared_store_url, tmp_path, TEACHER, PASSWORD)
    a = ServerProcess(shared_store_url, tmp_path / "a")
    b = ServerProcess(shared_store_url, tmp_path / "b")
    a.start()
    b.start()
    yield a, b
    a.stop()
    b.stop()
    for server in (a, b):
        assert "Traceback" not in server.log(), server.log()[-3000:]


async def test_a_thousand_students_vote_and_answer_exactly_once_over_two_processes(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_servers
    async with crowd_session() as http:
        crowd = await Crowd.create_class(http, [a.url, b.url], TEACHER, PASSWORD)
        await crowd.join(STUDENTS)
        teacher = await connect_teacher(crowd, a.url)
        teacher_b = await connect_teacher(crowd, b.url)
        try:
            await crowd.connect()
            await _vote_burst_counts_exactly_once(crowd, teacher, teacher_b)
            await _answers_near_the_deadline_count_exactly_once(crowd, teacher)
        finally:
            await teacher.close()
            await teacher_b.close()
            await crowd.close()


async def _vote_burst_counts_exactly_once(
    crowd: Crowd, teacher: CrowdClient, teacher_b: CrowdClient
) -> None:
    poll_id = await open_poll(crowd, teacher)

    burst = await vote_burst(crowd, poll_id, within_s=1.0)

    refused = [v.ack for v in burst.votes if not v.ack.get("ok")]
    assert refused == []
    assert sum(burst.expected_counts) == STUDENTS
    # Each retried vote was acknowledged as a duplicate exactly once.
    duplicates = Counter(v.student.index for v in burst.votes if v.ack["duplicate"])
    assert sum(duplicates.values()) == burst.retriers + burst.changers
    assert all(plan_of(index) != "once" for index in duplicates)
    assert all(n == 1 for n in duplicates.values())

    # The teacher's live tally converges to the truth; both processes agree with it.
    def tally_counts(client: CrowdClient) -> list[int] | None:
        tallies = [t["tally"] for t in client.kept_of("poll_tally") if t["poll_id"] == poll_id]
        return tallies[-1]["counts"] if tallies else None

    await teacher.wait_until(lambda: tally_counts(teacher) == burst.expected_counts)
    for client in (teacher, teacher_b):
        snapshot = await ok(client, "class_snapshot", {})
        poll = next(p for p in snapshot["state"]["polls"]["polls"] if p["poll_id"] == poll_id)
        assert poll["tally"]["counts"] == burst.expected_counts
        assert poll["tally"]["responses"] == STUDENTS

    # The log holds one event per distinct (student, vote id): retries were never stored twice.
    logged = [e for e in await whole_log(teacher) if e["type"] == "poll_voted"]
    keys = [(e["by"]["id"], e["data"]["vote_id"]) for e in logged]
    assert len(keys) == len(set(keys)) == STUDENTS + burst.changers

    # Students saw no tally and only their own votes.
    for student in crowd.students:
        assert student.client.counts["poll_tally"] == 0
        assert {v["by"]["id"] for v in student.client.kept_of("poll_voted")} == {student.student_id}


async def _answers_near_the_deadline_count_exactly_once(crowd: Crowd, teacher: CrowdClient) -> None:
    offset = await clock_offset_ms(teacher)
    quiz = {
        "title": "Race",
        "questions": [
            {
                "type": "single",
                "question": "7 x 8?",
                "options": ["54", "56"],
                "correct": [1],
                "time_limit_s": 5,
            }
        ],
    }
    quiz_id = (await ok(teacher, "quiz_create", {"quiz": quiz}))["quiz_id"]
    await ok(teacher, "quiz_start", {"quiz_id": quiz_id})
    opened = await teacher.wait_for_event("quiz_question_opened")
    deadline = opened["ts"] + opened["data"]["time_limit_ms"]
    for student in crowd.students:
        await student.client.wait_for_event("quiz_question_opened")

    answers = await answer_burst(crowd, quiz_id, deadline, offset, before_ms=400, after_ms=200)
    codes = Counter("OK" if a.ack.get("ok") else a.ack["error"]["code"] for a in answers)
    assert set(codes) == {"OK", "TOO_LATE"}, codes  # the burst straddled the deadline

    await ok(teacher, "quiz_next", {"quiz_id": quiz_id})
    closed = await teacher.wait_for_event("quiz_question_closed")
    acked = {a.student.student_id for a in answers if a.ack.get("ok")}
    assert closed["data"]["answered"] == len(acked) == codes["OK"]

    # Counted (the report) == acknowledged ok == logged on time.
    status, report = await http_json(
        crowd.http,
        "GET",
        f"{crowd.urls[1]}/api/classes/{crowd.class_id}/reports/quizzes/{quiz_id}.json",
        token=crowd.teacher_token,
    )
    assert status == 200
    counted = {s["student_id"] for s in report["students"] if s["answers"]}
    logged = [e for e in await whole_log(teacher) if e["type"] == "quiz_answered"]
    on_time = {e["by"]["id"] for e in logged if e["ts"] <= deadline}
    after = {e["by"]["id"] for e in logged if e["ts"] > deadline}
    assert counted == acked == on_time
    assert not (after & acked)
    # None refused before the deadline: every TOO_LATE came back after it (server clock).
    early_refusals = [
        a for a in answers if not a.ack.get("ok") and a.acked_server_ms < deadline - 20
    ]
    assert early_refusals == []
